import Foundation
import Histogram
import Switchboard

/// What a benchmark run measured; printed as a table, then as one JSON line.
struct BenchReport {
    let options: BenchCommand
    let nodes: Int
    var expected = 0
    var delivered = 0
    var duplicates = 0
    var reordered = 0
    var lost = 0
    var compressedDeliveries = 0
    var published = 0
    var publishErrors = 0
    var publishSeconds = 0.0
    var totalSeconds = 0.0
    var latency: Histogram<UInt64>?
    var serverCPUMicroseconds: Double?
    var serverCPUPerDelivery: Double?
    var serverCPUPerPublish: Double?
    /// The user-space and kernel parts of `serverCPUPerDelivery`.
    var serverUserPerDelivery: Double?
    var serverSystemPerDelivery: Double?
    var rssKiBPerConnection: Double?
    var nodeRSSKiB: Double?
    var redisBaselinePerSecond: Double?
    var slowConsumerCloses: Int?
    var benchCPUPercent = 0.0

    init(options: BenchCommand, nodes: Int) {
        self.options = options
        self.nodes = nodes
    }

    var publishedPerSecond: Double { publishSeconds > 0 ? Double(published) / publishSeconds : 0 }
    var deliveriesPerSecond: Double { totalSeconds > 0 ? Double(delivered) / totalSeconds : 0 }

    func percentileMilliseconds(_ percentile: Double) -> Double? {
        guard let latency, latency.totalCount > 0 else { return nil }
        return Double(latency.valueAtPercentile(percentile)) / 1e6
    }

    var json: JSONObject {
        func number(_ value: Double?, _ digits: Double = 1000) -> JSONValue {
            guard let value, value.isFinite else { return .null }
            return .number(JSONNumber((value * digits).rounded() / digits))
        }
        var object: JSONObject = [
            "nodes": .number(JSONNumber(nodes)),
            "subscribers": .number(JSONNumber(options.subscribers)),
            "channels": .number(JSONNumber(options.channels)),
            "publishers": .number(JSONNumber(options.publishers)),
            "messages": .number(JSONNumber(options.messages)),
            "rate": number(options.rate),
            "payload_bytes": .number(JSONNumber(options.payloadBytes)),
            "compression": .bool(options.compression),
            "published_per_s": number(publishedPerSecond, 1),
            "deliveries_per_s": number(deliveriesPerSecond, 1),
            "p50_ms": number(percentileMilliseconds(50)),
            "p90_ms": number(percentileMilliseconds(90)),
            "p99_ms": number(percentileMilliseconds(99)),
            "p999_ms": number(percentileMilliseconds(99.9)),
            "max_ms": number(latency.map { Double($0.max) / 1e6 }),
            "expected": .number(JSONNumber(expected)),
            "delivered": .number(JSONNumber(delivered)),
            "lost": .number(JSONNumber(lost)),
            "duplicates": .number(JSONNumber(duplicates)),
            "reordered": .number(JSONNumber(reordered)),
            "publish_errors": .number(JSONNumber(publishErrors)),
            "compressed_deliveries": .number(JSONNumber(compressedDeliveries)),
            "server_cpu_us_per_delivery": number(serverCPUPerDelivery),
            "server_cpu_us_per_publish": number(serverCPUPerPublish),
            "server_user_us_per_delivery": number(serverUserPerDelivery),
            "server_system_us_per_delivery": number(serverSystemPerDelivery),
            "rss_kib_per_connection": number(rssKiBPerConnection, 10),
            "bench_cpu_percent": number(benchCPUPercent, 10),
            "seconds": number(totalSeconds),
        ]
        object["slow_consumers"] = .number(JSONNumber(options.slowConsumers))
        object["slow_consumer_closes"] = slowConsumerCloses.map { .number(JSONNumber($0)) } ?? .null
        object["redis_baseline_per_s"] = number(redisBaselinePerSecond, 1)
        object["redis_ratio"] = number(redisBaselinePerSecond.map { publishedPerSecond / $0 }, 10000)
        return object
    }

    func print() {
        func format(_ value: Double?, _ unit: String = "", digits: Int = 3) -> String {
            guard let value, value.isFinite else { return "n/a" }
            return String(format: "%.\(digits)f", value) + unit
        }
        var lines = [
            "Switchboard bench: \(nodes) node(s), \(options.subscribers) subscribers, \(options.channels) channel(s), \(options.publishers) publisher(s), \(options.messages) messages, \(options.payloadBytes) B padding\(options.compression ? ", compression" : "")",
            "  published/s            \(format(publishedPerSecond, digits: 0))  (\(published) ok, \(publishErrors) errors, \(format(publishSeconds, " s")))",
            "  deliveries/s           \(format(deliveriesPerSecond, digits: 0))  (\(delivered) of \(expected) expected)",
            "  latency ms             p50 \(format(percentileMilliseconds(50))) p90 \(format(percentileMilliseconds(90))) p99 \(format(percentileMilliseconds(99))) p99.9 \(format(percentileMilliseconds(99.9))) max \(format(latency.map { Double($0.max) / 1e6 }))",
            "  completeness           lost \(lost), duplicates \(duplicates), reordered \(reordered)",
            "  server CPU             \(format(serverCPUPerDelivery, " µs/delivery")) (user \(format(serverUserPerDelivery, " µs")), system \(format(serverSystemPerDelivery, " µs"))), \(format(serverCPUPerPublish, " µs/publish"))",
            "  memory                 \(format(rssKiBPerConnection, " KiB/connection", digits: 1)) (nodes' RSS \(format(nodeRSSKiB.map { $0 / 1024 }, " MiB", digits: 1)))",
            "  bench's own CPU        \(format(benchCPUPercent, "% of one core", digits: 1))",
        ]
        if options.slowConsumers > 0 {
            lines.append("  slow consumers         \(options.slowConsumers) stopped reading; closed by the nodes: \(slowConsumerCloses.map(String.init) ?? "n/a")")
        }
        if let baseline = redisBaselinePerSecond {
            lines.append("  redis-benchmark        \(format(baseline, " PUBLISH/s", digits: 0)); through the nodes: \(format(publishedPerSecond / baseline * 100, "%", digits: 1))")
        }
        Swift.print(lines.joined(separator: "\n"))
        Swift.print(JSONValue.object(json).jsonString)
        fflush(nil)
    }
}
