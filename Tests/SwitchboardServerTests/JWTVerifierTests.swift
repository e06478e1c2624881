import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// What a token must be to be taken: signed by a configured key, inside its `nbf`–`exp` window,
/// for this audience and from this issuer when those are set, with claim globs within the
/// bounds of a client's patterns (security findings 9, 12 and 13).
@Suite("JWT verifier")
struct JWTVerifierTests {
    static let secret = "a-test-secret-of-thirty-two-bytes!"

    static func reason(_ verifier: JWTVerifier, _ token: String) async -> String? {
        do throws(TokenRejection) {
            _ = try await verifier.identity(for: token)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("nbf in the future is refused; now (within the leeway) is taken")
    func notBefore() async throws {
        let verifier = try await JWTVerifier.load(hs256Secrets: [Self.secret])
        let early = try await TestTokens.hs256(secret: Self.secret, validIn: 120)
        #expect(await Self.reason(verifier, early) == "token not valid yet (nbf is in the future)")
        #expect(await Self.reason(verifier, try await TestTokens.hs256(secret: Self.secret, validIn: 1)) == nil)
        #expect(await Self.reason(verifier, try await TestTokens.hs256(secret: Self.secret, validIn: -60)) == nil)
    }

    @Test("audience and issuer are checked when set, and only then")
    func audienceAndIssuer() async throws {
        let strict = try await JWTVerifier.load(hs256Secrets: [Self.secret], audience: "chat", issuer: "https://auth.example.com/")
        let good = try await TestTokens.hs256(secret: Self.secret, audience: ["billing", "chat"], issuer: "https://auth.example.com/")
        #expect(await Self.reason(strict, good) == nil)
        let otherService = try await TestTokens.hs256(secret: Self.secret, audience: ["billing"], issuer: "https://auth.example.com/")
        #expect(await Self.reason(strict, otherService) == "wrong audience: the token is not for chat (aud)")
        let noAudience = try await TestTokens.hs256(secret: Self.secret, issuer: "https://auth.example.com/")
        #expect(await Self.reason(strict, noAudience)?.hasPrefix("wrong audience") == true)
        let otherIssuer = try await TestTokens.hs256(secret: Self.secret, audience: ["chat"], issuer: "https://evil.example.com/")
        #expect(await Self.reason(strict, otherIssuer) == "wrong issuer: the token is not from https://auth.example.com/ (iss)")
        let lax = try await JWTVerifier.load(hs256Secrets: [Self.secret])
        #expect(await Self.reason(lax, otherService) == nil)
    }

    @Test("a claim glob past the client bounds refuses the token with a reason; it never reaches the matcher")
    func longClaimGlobs() async throws {
        let verifier = try await JWTVerifier.load(hs256Secrets: [Self.secret])
        let long = "*" + String(repeating: "a", count: 200) + "*"
        let token = try await TestTokens.hs256(secret: Self.secret, channels: [long])
        let reason = try #require(await Self.reason(verifier, token))
        #expect(reason.hasPrefix("the channels claim holds a pattern the node does not take"))
        #expect(reason.contains("pattern too long"))
        let wild = try await TestTokens.hs256(secret: Self.secret, publish: [String(repeating: "?*", count: 20)])
        #expect(await Self.reason(verifier, wild)?.contains("too many wildcards") == true)
    }

    @Test("a node refuses such a token at the upgrade with 401 and goes on serving")
    func nodeRefusesLongGlobToken() async throws {
        let verifier = try await JWTVerifier.load(hs256Secrets: [Self.secret])
        var configuration = NodeConfiguration(port: 0)
        configuration.security = SecurityConfiguration(policy: AccessPolicy(mode: .optional, verifier: verifier))
        let node = try await TestNode.start(configuration: configuration)
        let token = try await TestTokens.hs256(secret: Self.secret, channels: ["*" + String(repeating: "b", count: 200) + "*"])
        let upgrade = ["Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Authorization": "Bearer \(token)"]
        let refused = try await HTTPProbe.request("GET", "/stream", port: node.port, headers: upgrade)
        #expect(refused.status == 401)
        #expect(try JSONValue(parsing: refused.body)["reason"]?.stringValue?.contains("pattern too long") == true)
        let socket = try await RawWebSocket.connect(node.url)
        #expect(try await socket.call(["id": "1", "method": "info"])["response"] != nil)
        await socket.close()
        await node.stop()
    }
}
