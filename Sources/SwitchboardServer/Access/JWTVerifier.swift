import Foundation
import JWTKit
public import Switchboard

/// Verifies connection tokens (JWTs) with vapor/jwt-kit: HS256 secrets, RS256/ES256/ES384/EdDSA
/// public keys in PEM files, and JWKS files, several at once so that keys can be rotated (a token
/// is accepted when any key verifies it). Claims: `sub`, `exp`, `nbf`, `aud`, `iss`,
/// `permissions`, `channels`, `publish`, `info` (see `Identity`).
///
/// `exp` and `nbf` are checked with `clockLeeway` of slack for clocks that differ; `aud` must
/// name `audience` and `iss` must be `issuer` when those are set. The `channels` and `publish`
/// globs are held to the bounds of a client's patterns: a token with one past them is refused.
public final class JWTVerifier: TokenVerifier {
    private let keys: JWTKeyCollection
    /// How many keys were loaded.
    public let keyCount: Int
    /// The audience tokens must name in `aud` (`nil`: not checked).
    public let audience: String?
    /// The issuer tokens must name in `iss` (`nil`: not checked).
    public let issuer: String?
    /// Slack for `exp` and `nbf`.
    public static let clockLeeway: TimeInterval = 5

    private init(keys: JWTKeyCollection, keyCount: Int, audience: String?, issuer: String?) {
        self.keys = keys
        self.keyCount = keyCount
        self.audience = audience
        self.issuer = issuer
    }

    /// Why the keys could not be loaded (names the file or the option).
    public struct KeyError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `true` when some HS256 secret is shorter than 32 bytes (RFC 7518 asks for at least the
    /// hash's size); the node warns about it.
    public static func hasWeakSecret(_ secrets: [String]) -> Bool {
        secrets.contains { $0.utf8.count < 32 }
    }

    /// Loads the keys. Each key gets its own key id, so that tokens without a `kid` are tried
    /// against every key; tokens of a JWKS keep their own ids.
    public static func load(
        hs256Secrets: [String] = [],
        publicKeysPEM: [(name: String, pem: String)] = [],
        jwks: [(name: String, json: String)] = [],
        audience: String? = nil,
        issuer: String? = nil
    ) async throws -> JWTVerifier {
        let keys = JWTKeyCollection()
        var count = 0
        for (index, secret) in hs256Secrets.enumerated() {
            guard !secret.isEmpty else { throw KeyError(description: "an HS256 secret must not be empty") }
            // HMAC pads a key shorter than its block with zeros: padding it to 32 bytes here signs
            // and verifies alike, without jwt-kit's assertion on short keys.
            var bytes = Array(secret.utf8)
            if bytes.count < 32 { bytes += [UInt8](repeating: 0, count: 32 - bytes.count) }
            await keys.add(hmac: HMACKey(from: bytes), digestAlgorithm: .sha256, kid: JWKIdentifier(string: "hs256-\(index)"))
            count += 1
        }
        for (index, key) in publicKeysPEM.enumerated() {
            let kid = JWKIdentifier(string: "pem-\(index)")
            if let ecdsa = try? ES256PublicKey(pem: key.pem) {
                await keys.add(ecdsa: ecdsa, kid: kid)
            } else if let ecdsa = try? ES384PublicKey(pem: key.pem) {
                await keys.add(ecdsa: ecdsa, kid: kid)
            } else if let eddsa = try? EdDSA.PublicKey(pem: key.pem) {
                await keys.add(eddsa: eddsa, kid: kid)
            } else if let rsa = try? Insecure.RSA.PublicKey(pem: key.pem) {
                await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: kid)
            } else {
                throw KeyError(description: "\(key.name): not a PEM public key of a kind this node reads (ES256, ES384, EdDSA/Ed25519, RS256)")
            }
            count += 1
        }
        for set in jwks {
            do {
                try await keys.add(jwksJSON: set.json)
                count += (try? JSONValue(parsing: set.json))?["keys"]?.arrayValue?.count ?? 1
            } catch {
                throw KeyError(description: "\(set.name): not a JWKS (\(error))")
            }
        }
        return JWTVerifier(keys: keys, keyCount: count, audience: audience, issuer: issuer)
    }

    public func identity(for token: String) async throws(TokenRejection) -> Identity {
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self, iteratingKeys: true)
        } catch let error as JWTError {
            if error.errorType == .claimVerificationFailure, error.failedClaim is ExpirationClaim {
                throw TokenRejection("token expired", expired: true)
            }
            if error.errorType == .claimVerificationFailure, error.failedClaim is NotBeforeClaim {
                throw TokenRejection("token not valid yet (nbf is in the future)")
            }
            switch error.errorType {
            case .malformedToken: throw TokenRejection("malformed token")
            case .signatureVerificationFailed, .unknownKID: throw TokenRejection("bad signature (no configured key verifies it)")
            case .unsupportedAlgorithm: throw TokenRejection("unsupported algorithm")
            default: throw TokenRejection("invalid token: \(error.reason ?? "\(error.errorType)")")
            }
        } catch {
            throw TokenRejection("invalid token: \(error)")
        }
        if let audience, !(claims.aud?.value.contains(audience) ?? false) {
            throw TokenRejection("wrong audience: the token is not for \(audience) (aud)")
        }
        if let issuer, claims.iss?.value != issuer {
            throw TokenRejection("wrong issuer: the token is not from \(issuer) (iss)")
        }
        for (name, globs) in [("channels", claims.channels ?? []), ("publish", claims.publish ?? [])] {
            for glob in globs {
                if let problem = GlobPattern.problem(glob) {
                    throw TokenRejection("the \(name) claim holds a pattern the node does not take (\(glob.clippedForLog)): \(problem)")
                }
            }
        }
        return Identity(
            userID: claims.sub?.value,
            permissions: Set(claims.permissions ?? []),
            channels: claims.channels ?? [],
            publish: claims.publish ?? [],
            info: claims.info,
            expiresAt: claims.exp.map { $0.value.timeIntervalSince1970 },
            claims: Self.payload(of: token)
        )
    }

    /// The claims of a verified token as signed: its payload segment, decoded (for the
    /// application's backend, which may read claims the node does not).
    static func payload(of token: String) -> JSONObject? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var text = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { return nil }
        return (try? JSONValue(parsing: String(decoding: data, as: UTF8.self)))?.objectValue
    }

    /// The claims Switchboard reads.
    struct Claims: JWTPayload {
        var sub: SubjectClaim?
        var exp: ExpirationClaim?
        var nbf: NotBeforeClaim?
        var aud: AudienceClaim?
        var iss: IssuerClaim?
        var permissions: [String]?
        var channels: [String]?
        var publish: [String]?
        var info: JSONValue?

        func verify(using algorithm: some JWTAlgorithm) throws {
            try exp?.verifyNotExpired(currentDate: Date() - JWTVerifier.clockLeeway)
            try nbf?.verifyNotBefore(currentDate: Date() + JWTVerifier.clockLeeway)
        }
    }
}
