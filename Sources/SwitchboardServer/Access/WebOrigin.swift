/// A browser's `Origin` header read strictly (RFC 6454): `scheme://host[:port]` and nothing
/// else — no path, query, fragment, user info or whitespace — so that
/// `https://evil.com/.trusted.org` is not taken for a host under `trusted.org`.
struct WebOrigin: Equatable {
    let scheme: String
    /// Lower-cased; IPv6 addresses keep their brackets.
    let host: String
    let port: Int?

    init?(_ text: String) {
        guard let separator = text.firstRange(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard let first = scheme.first, first.isASCII, first.isLetter,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { return nil }
        var rest = text[separator.upperBound...]
        var host: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[...close]
            rest = rest[rest.index(after: close)...]
        } else {
            let end = rest.firstIndex(of: ":") ?? rest.endIndex
            host = rest[..<end]
            rest = rest[end...]
        }
        guard !host.isEmpty,
            host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._[]:".contains($0)) }),
            !host.hasPrefix("."), !host.hasSuffix(".")
        else { return nil }
        var port: Int?
        if !rest.isEmpty {
            guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()), rest.count > 1, rest.dropFirst().allSatisfy(\.isNumber), (0...65535).contains(number) else {
                return nil
            }
            port = number
        }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
    }

    /// `true` when the host is `suffix`'s domain's subdomain (`a.example.com` for
    /// `example.com`; not `example.com` itself, not `badexample.com`).
    func isSubdomain(of domain: String) -> Bool {
        let domain = domain.lowercased()
        return host.count > domain.count + 1 && host.hasSuffix("." + domain)
    }
}
