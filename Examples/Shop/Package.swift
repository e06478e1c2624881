// swift-tools-version:6.1
// README's "Adding your own RPC methods" and docs/swift.md, as an application that depends on
// Switchboard (by path here; by URL in a real application): the methods in a library, the node
// that serves them, and a test that drives them with the Swift client. CI builds and tests it, so
// the documented use of the library keeps compiling and working.
import PackageDescription

let package = Package(
    name: "shop",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchboard", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "ShopMethods",
            dependencies: [.product(name: "Switchboard", package: "switchboard")]
        ),
        .executableTarget(
            name: "Shop",
            dependencies: [
                "ShopMethods",
                .product(name: "Switchboard", package: "switchboard"),
                .product(name: "SwitchboardServer", package: "switchboard"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ShopTests",
            dependencies: [
                "ShopMethods",
                .product(name: "Switchboard", package: "switchboard"),
                .product(name: "SwitchboardClient", package: "switchboard"),
                .product(name: "SwitchboardTesting", package: "switchboard"),
            ]
        ),
    ]
)
