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
}
