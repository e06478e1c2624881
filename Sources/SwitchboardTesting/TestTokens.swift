import Foundation
public import JWTKit

/// Signs connection tokens for tests: HS256 with a secret, ES256 with a key made here.
public enum TestTokens {
    /// The claims Switchboard reads.
    public struct Claims: JWTPayload {
        public var sub: SubjectClaim?
        public var exp: ExpirationClaim?
        public var nbf: NotBeforeClaim?
        public var aud: AudienceClaim?
        public var iss: IssuerClaim?
        public var permissions: [String]?
        public var channels: [String]?
        public var publish: [String]?

        public func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    static func claims(
        _ sub: String?,
        permissions: [String]?,
        channels: [String]?,
        publish: [String]?,
        expiresIn: Double?,
        validIn: Double? = nil,
        audience: [String]? = nil,
        issuer: String? = nil
    ) -> Claims {
        Claims(
            sub: sub.map(SubjectClaim.init(value:)),
            exp: expiresIn.map { ExpirationClaim(value: Date(timeIntervalSinceNow: $0)) },
            nbf: validIn.map { NotBeforeClaim(value: Date(timeIntervalSinceNow: $0)) },
            aud: audience.map { AudienceClaim(value: $0) },
            iss: issuer.map { IssuerClaim(value: $0) },
            permissions: permissions,
            channels: channels,
            publish: publish
        )
    }

    /// An HS256 token signed with `secret`; `validIn` sets `nbf` that many seconds from now,
    /// `audience` and `issuer` set `aud` and `iss`.
    public static func hs256(
        secret: String,
        sub: String? = "user",
        permissions: [String]? = nil,
        channels: [String]? = nil,
        publish: [String]? = nil,
        expiresIn: Double? = 3600,
        validIn: Double? = nil,
        audience: [String]? = nil,
        issuer: String? = nil
    ) async throws -> String {
        let keys = JWTKeyCollection()
        var bytes = Array(secret.utf8)
        if bytes.count < 32 { bytes += [UInt8](repeating: 0, count: 32 - bytes.count) }
        await keys.add(hmac: HMACKey(from: bytes), digestAlgorithm: .sha256)
        let payload = claims(sub, permissions: permissions, channels: channels, publish: publish, expiresIn: expiresIn, validIn: validIn, audience: audience, issuer: issuer)
        return try await keys.sign(payload)
    }

    /// An ES256 key pair: the public key's PEM for the node, and tokens signed with the private key.
    public struct ES256: Sendable {
        private let key: ES256PrivateKey
        /// The public key, PEM.
        public let publicKeyPEM: String

        public init() throws {
            key = ES256PrivateKey()
            publicKeyPEM = key.publicKey.pemRepresentation
        }

        public func token(sub: String? = "user", permissions: [String]? = nil, channels: [String]? = nil, publish: [String]? = nil, expiresIn: Double? = 3600) async throws -> String {
            let keys = JWTKeyCollection()
            await keys.add(ecdsa: key)
            return try await keys.sign(TestTokens.claims(sub, permissions: permissions, channels: channels, publish: publish, expiresIn: expiresIn))
        }
    }
}
