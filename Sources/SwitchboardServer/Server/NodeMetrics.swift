public import NIOCore
public import Prometheus
public import Switchboard

/// A node's metrics: the Prometheus registry `/metrics` exports, and the `SwitchboardMetrics`
/// made from it, which the node and its broker update. Give `switchboard` to the broker.
public struct NodeMetrics: Sendable {
    /// What `/metrics` exports.
    public let registry: PrometheusCollectorRegistry
    /// The counters, for the node and its broker.
    public let switchboard: SwitchboardMetrics

    public init() {
        registry = PrometheusCollectorRegistry()
        switchboard = SwitchboardMetrics(factory: PrometheusMetricsFactory(registry: registry))
    }

    /// The Prometheus text `/metrics` answers: the registry's families, each with its `# HELP`
    /// line, and `switchboard_node_info{node, broker, version} 1` so that a scraper of several
    /// nodes can tell them apart.
    public func exposition(node: String, broker: String, version: String) -> ByteBuffer {
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        var output = ""
        output.reserveCapacity(text.utf8.count + 2048)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first,
               let help = SwitchboardMetrics.help[String(name)] {
                output += "# HELP \(name) \(help)\n"
            }
            output += line
            output += "\n"
        }
        if output.hasSuffix("\n\n") { output.removeLast() }
        output += "# HELP switchboard_node_info \(SwitchboardMetrics.help["switchboard_node_info"] ?? "")\n"
        output += "# TYPE switchboard_node_info gauge\n"
        output += "switchboard_node_info{node=\"\(Self.escape(node))\",broker=\"\(Self.escape(broker))\",version=\"\(Self.escape(version))\"} 1\n"
        return ByteBuffer(string: output)
    }

    /// A label value escaped as the exposition format wants.
    private static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
