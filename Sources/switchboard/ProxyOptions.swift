import ArgumentParser
import Switchboard
import SwitchboardServer

/// `serve`'s options for the application's backend (docs/proxy.md). Each takes its flag, else
/// its environment variable, else the configuration file's `proxy` section.
struct ProxyOptions: ParsableArguments {
    @Option(help: "URL the node asks on each WebSocket upgrade without a token: who this is [SWITCHBOARD_PROXY_CONNECT].")
    var proxyConnect: String?

    @Option(help: "URL the node forwards RPC methods it does not define to [SWITCHBOARD_PROXY_RPC].")
    var proxyRpc: String?

    @Option(help: "URL the node asks about subscribes on channels whose rule says proxy [SWITCHBOARD_PROXY_SUBSCRIBE].")
    var proxySubscribe: String?

    @Option(help: "URL the node asks about publishes on channels whose rule says proxy [SWITCHBOARD_PROXY_PUBLISH].")
    var proxyPublish: String?

    @Option(help: "Seconds the backend has to answer each proxy request [SWITCHBOARD_PROXY_TIMEOUT] (default 5).")
    var proxyTimeout: Double?

    @Option(help: "Upgrade headers sent to the backend, comma-separated [SWITCHBOARD_PROXY_HEADERS] (default Cookie,Authorization,X-Forwarded-For,User-Agent,Origin).")
    var proxyHeaders: String?

    @Option(help: "Globs of the RPC method names forwarded, comma-separated [SWITCHBOARD_PROXY_METHODS] (default: every name the node does not define).")
    var proxyMethods: String?

    /// The file's proxies with the flags and variables over them, checked against the file's channel rules.
    func resolve(file: ConfigurationFile) throws -> ProxyConfiguration {
        var proxy = file.proxy
        func endpoint(_ current: ProxyConfiguration.Endpoint?, _ flag: String?, _ variable: String) -> ProxyConfiguration.Endpoint? {
            guard let url = Environment.resolve(flag, variable) else { return current }
            var endpoint = current ?? ProxyConfiguration.Endpoint(url: url)
            endpoint.url = url
            return endpoint
        }
        proxy.connect = endpoint(proxy.connect, proxyConnect, "SWITCHBOARD_PROXY_CONNECT")
        proxy.rpc = endpoint(proxy.rpc, proxyRpc, "SWITCHBOARD_PROXY_RPC")
        proxy.subscribe = endpoint(proxy.subscribe, proxySubscribe, "SWITCHBOARD_PROXY_SUBSCRIBE")
        proxy.publish = endpoint(proxy.publish, proxyPublish, "SWITCHBOARD_PROXY_PUBLISH")
        var timeout = proxyTimeout
        if timeout == nil, let text = Environment.value("SWITCHBOARD_PROXY_TIMEOUT") {
            guard let seconds = Double(text) else { throw ValidationError("SWITCHBOARD_PROXY_TIMEOUT=\(text) is not a number of seconds") }
            timeout = seconds
        }
        if let timeout {
            guard timeout > 0, timeout <= 3600 else { throw ValidationError("--proxy-timeout must be between 0 and 3600 seconds") }
        }
        let headers = Environment.resolve(proxyHeaders, "SWITCHBOARD_PROXY_HEADERS").map(Self.list)
        let methods = Environment.resolve(proxyMethods, "SWITCHBOARD_PROXY_METHODS").map(Self.list)
        let paths: [WritableKeyPath<ProxyConfiguration, ProxyConfiguration.Endpoint?>] = [\.connect, \.rpc, \.subscribe, \.publish]
        for path in paths {
            guard var endpoint = proxy[keyPath: path] else { continue }
            if let timeout { endpoint.timeoutSeconds = timeout }
            if let headers { endpoint.headers = headers }
            proxy[keyPath: path] = endpoint
        }
        if let methods { proxy.rpc?.methods = methods }
        if methods != nil, proxy.rpc == nil { throw ValidationError("--proxy-methods needs an RPC proxy (--proxy-rpc URL)") }
        if let problem = proxy.problem(rules: file.channels) { throw ValidationError(problem) }
        return proxy
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty }
    }
}
