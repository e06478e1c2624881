import Testing

@testable import SwitchboardServer

/// Origins read strictly: `scheme://host[:port]` only.
@Suite("Web origins")
struct WebOriginTests {
    @Test("well-formed origins", arguments: ["https://app.example.com", "http://a.b.example.org:8080", "https://[::1]:443", "HTTPS://App.Example.com"])
    func valid(_ text: String) {
        #expect(WebOrigin(text) != nil)
    }

    @Test("anything more or less is no origin", arguments: [
        "https://evil.com/.trusted.org", "https://evil.com?.trusted.org", "https://evil.com#.trusted.org", "https://user@trusted.org",
        "https://trusted.org/", "https://", "trusted.org", "https://trusted.org:", "https://trusted.org:99999", "https://tru sted.org", "null", "1http://x.org",
        "https://.trusted.org",
    ])
    func invalid(_ text: String) {
        #expect(WebOrigin(text) == nil)
    }

    @Test("wildcard entries match subdomains only; exact entries the same scheme, host and port")
    func matching() {
        let security = SecurityConfiguration(allowedOrigins: ["https://app.example.com", "*.trusted.org"])
        #expect(security.allows(origin: "https://a.trusted.org"))
        #expect(security.allows(origin: "http://deep.a.trusted.org:81"))
        #expect(!security.allows(origin: "https://trusted.org"))
        #expect(!security.allows(origin: "https://eviltrusted.org"))
        #expect(!security.allows(origin: "https://evil.com/.trusted.org"))
        #expect(security.allows(origin: "https://APP.example.com"))
        #expect(!security.allows(origin: "http://app.example.com"))
        #expect(!security.allows(origin: "https://app.example.com:8443"))
    }
}
