// swift-tools-version:6.1
// README's "Adding your own RPC methods", as an application that depends on Switchboard (by path
// here; by URL and version in a real application). CI builds it, so the documented use of the
// library keeps compiling.
import PackageDescription

let package = Package(
    name: "shop",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchboard", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "Shop",
            dependencies: [
                .product(name: "Switchboard", package: "switchboard"),
                .product(name: "SwitchboardServer", package: "switchboard"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
