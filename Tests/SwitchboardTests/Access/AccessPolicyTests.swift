import Testing

@testable import Switchboard

@Suite("Access policy")
struct AccessPolicyTests {
    static let rules = [
        ChannelRule(match: "news", subscribe: .any, publish: .permission("editor")),
        ChannelRule(match: "user:{sub}", subscribe: .owner, publish: .server),
        ChannelRule(match: "private:*", subscribe: .token, publish: .token),
        ChannelRule(match: "open:*"),
    ]

    struct AnyToken: TokenVerifier {
        func identity(for token: String) async throws(TokenRejection) -> Identity { Identity(userID: token) }
    }

    @Test("the first matching rule decides; claims add to it; server-only channels refuse every socket")
    func rules() {
        let policy = AccessPolicy(mode: .optional, channels: Self.rules, verifier: AnyToken())
        let anonymous = Identity.anonymous
        let ann = Identity(userID: "ann", permissions: ["editor"], channels: ["private:ann-*"], publish: ["private:ann-*"])
        let bob = Identity(userID: "bob")
        #expect(policy.allows(anonymous, .subscribe, "news"))
        #expect(!policy.allows(anonymous, .publish, "news"))
        #expect(policy.allows(ann, .publish, "news"))
        #expect(!policy.allows(bob, .publish, "news"))
        #expect(policy.allows(ann, .subscribe, "user:ann"))
        #expect(!policy.allows(bob, .subscribe, "user:ann"))
        #expect(!policy.allows(ann, .publish, "user:ann"))
        #expect(policy.allows(ann, .subscribe, "private:ann-1"))
        #expect(!policy.allows(ann, .subscribe, "private:bob-1"))
        #expect(!policy.allows(bob, .subscribe, "private:ann-1"))
        // No rule word: the default (a token) under optional; anything under off.
        #expect(!policy.allows(anonymous, .subscribe, "open:x"))
        #expect(policy.allows(bob, .subscribe, "open:x"))
        #expect(!policy.allows(anonymous, .subscribe, "elsewhere"))
        #expect(policy.allows(bob, .publish, "elsewhere"))
        let off = AccessPolicy(mode: .off, channels: Self.rules)
        #expect(off.allows(anonymous, .subscribe, "elsewhere"))
        #expect(off.allows(anonymous, .publish, "open:x"))
        #expect(!off.allows(anonymous, .publish, "news"))
    }

    @Test("the owner rule compares user ids and channel names byte for byte, not by canonical equivalence")
    func ownerBytes() {
        let policy = AccessPolicy(mode: .optional, channels: Self.rules, verifier: AnyToken())
        let decomposed = Identity(userID: "e\u{301}")  // e + combining acute
        #expect(!policy.allows(decomposed, .subscribe, "user:\u{e9}"))  // precomposed é: another user's
        #expect(policy.allows(decomposed, .subscribe, "user:e\u{301}"))
        #expect(ChannelPattern("user:{sub}").match("user:\u{e9}").owner == "\u{e9}")
        #expect(ChannelPattern("room:{sub}:x").match("room:\u{301}:x").owner == "\u{301}")
    }

    @Test("optional without any key cannot log anyone in: channels without a rule are open")
    func optionalWithoutKeys() {
        let policy = AccessPolicy(mode: .optional)
        #expect(policy.isOpen)
        #expect(policy.allows(.anonymous, .publish, "anything"))
        #expect(!AccessPolicy(mode: .optional, verifier: AnyToken()).isOpen)
    }

    @Test("rule words and channel patterns")
    func parsing() {
        #expect(AccessRule("permission:editor") == .permission("editor"))
        #expect(AccessRule("any") == .any && AccessRule("owner") == .owner && AccessRule("server") == .server)
        #expect(AccessRule("permission:") == nil && AccessRule("everyone") == nil)
        let pattern = ChannelPattern("user:{sub}:inbox")
        #expect(pattern.match("user:42:inbox") == (true, "42"))
        #expect(pattern.match("user::inbox").matches == false)
        #expect(pattern.match("user:42:outbox").matches == false)
        #expect(ChannelPattern("room:*").match("room:1") == (true, nil))
    }

    @Test("method requirements")
    func methods() {
        let admin = Identity(userID: "a", permissions: ["admin"])
        #expect(MethodRequirement.anyone.allows(.anonymous))
        #expect(!MethodRequirement.login.allows(.anonymous))
        #expect(MethodRequirement.login.allows(admin))
        #expect(MethodRequirement.permission("admin").allows(admin))
        #expect(!MethodRequirement.permission("admin").allows(Identity(userID: "b")))
        #expect(MethodRequirement.test { $0.userID == "a" }.allows(admin))
        var router = RPCRouter()
        router.register("open") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in nil }
        router.register("admin", requires: .permission("admin")) { (_: JSONObject, _: RPCContext) async throws -> JSONValue in nil }
        #expect(router.methodNames(for: .anonymous) == ["open"])
        #expect(router.methodNames(for: admin) == ["admin", "open"])
    }
}

@Suite("Access: the proxy rule word")
struct ProxyRuleTests {
    @Test("proxy is a rule word: the sync check passes and the backend is asked, for that action only")
    func proxyWord() {
        #expect(AccessRule("proxy") == .proxy)
        #expect(AccessRule.proxy.description == "proxy")
        let rules = [ChannelRule(match: "room:*", subscribe: .proxy, publish: .login)]
        let unanswered = AccessPolicy(mode: .required, channels: rules)
        #expect(!unanswered.allows(.anonymous, .subscribe, "room:a"), "without a backend no one may")
        #expect(!unanswered.asksBackend(.subscribe, "room:a"))
        let policy = AccessPolicy(mode: .required, channels: rules, backend: ScriptedBackend())
        #expect(policy.allows(.anonymous, .subscribe, "room:a"))
        #expect(policy.asksBackend(.subscribe, "room:a"))
        #expect(!policy.asksBackend(.publish, "room:a"))
        #expect(!policy.asksBackend(.subscribe, "lobby"))
        #expect(policy.requirement(.subscribe, "room:a").contains("backend"))
    }
}
