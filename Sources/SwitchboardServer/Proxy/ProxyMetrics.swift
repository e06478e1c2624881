import CoreMetrics
import Switchboard

/// What `/metrics` shows of one proxy (`proxy="rpc"`…): requests, errors by kind, and how long
/// the backend took.
struct ProxyMetrics: Sendable {
    /// Why a proxy request failed.
    enum ErrorKind: String, CaseIterable, Sendable {
        /// The backend could not be reached (refused, reset, DNS).
        case unreachable
        /// No answer within the timeout.
        case timeout
        /// An answer that is not one of the documented shapes, or not 2xx, or too large.
        case invalid
        /// Too many requests in flight at once.
        case overloaded
        /// The backend answered with an error (a refusal, not a failure).
        case refused
    }

    let requests: Counter
    let duration: CoreMetrics.Timer
    private let errors: [ErrorKind: Counter]

    init(proxy: String, factory: any MetricsFactory) {
        requests = Counter(label: "switchboard_proxy_requests_total", dimensions: [("proxy", proxy)], factory: factory)
        duration = CoreMetrics.Timer(label: "switchboard_proxy_duration_seconds", dimensions: [("proxy", proxy)], preferredDisplayUnit: .seconds, factory: factory)
        var errors: [ErrorKind: Counter] = [:]
        for kind in ErrorKind.allCases {
            errors[kind] = Counter(label: "switchboard_proxy_errors_total", dimensions: [("proxy", proxy), ("kind", kind.rawValue)], factory: factory)
        }
        self.errors = errors
    }

    func error(_ kind: ErrorKind) {
        errors[kind]?.increment()
    }
}
