// swift-tools-version:6.1
// Allocation counts of the hot paths, with ordo-one/benchmark: deterministic figures a change can
// be judged by on a machine where wall-clock and CPU figures move from run to run.
//
//   cd Benchmarks && swift package benchmark                 # every benchmark, with allocation counts
//   cd Benchmarks && swift package benchmark --filter deliver
//
// Floor/: the least a SwiftNIO server costs per wake-up and per send on this machine, with none of
// Switchboard's code (an echo server and a fan-out writer); scripts/floor.sh runs them beside C
// programs doing the same, for docs/performance.md.
import PackageDescription

let package = Package(
    name: "SwitchboardBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchboard", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "Allocations",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Switchboard", package: "switchboard"),
                .product(name: "SwitchboardRedis", package: "switchboard"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/Allocations",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "nio-echo-server",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            path: "Floor/NIOEchoServer",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "nio-fan-server",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            path: "Floor/NIOFanServer",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
