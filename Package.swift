// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SessionGate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sessiongate", targets: ["sessiongate"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Pure values shared by RedisWire and SessionGateCore (no dependencies): `Secret`, the
        // store URLs' authority parser. SessionGateCore re-exports it.
        .target(name: "SessionGateShared"),
        // Pure: no sockets, no wall clock, no global randomness.
        .target(
            name: "SessionGateCore",
            dependencies: ["SessionGateShared", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // RESP (Redis) wire client: codec -> state machine -> channel handler.
        .target(
            name: "RedisWire",
            dependencies: [
                "SessionGateShared",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Session store backends behind SessionGateCore.SessionStore.
        .target(
            name: "SessionGateStores",
            dependencies: [
                "SessionGateCore",
                "RedisWire",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Data plane: listener, per-connection state machines, upstream pool, admin endpoints.
        .target(
            name: "SessionGateProxy",
            dependencies: [
                "SessionGateCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // CLI commands, TOML loading and service wiring.
        .target(
            name: "SessionGateApp",
            dependencies: [
                "SessionGateCore",
                "SessionGateStores",
                "SessionGateProxy",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(name: "sessiongate", dependencies: ["SessionGateApp"]),

        // Test support shared by the test targets below: a fake RESP server serving replies of
        // wrong shapes (fault injection no real Redis produces).
        .target(
            name: "RedisWireTestSupport",
            dependencies: [
                "RedisWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/RedisWireTestSupport"
        ),

        .testTarget(name: "SessionGateCoreTests", dependencies: ["SessionGateCore"]),
        .testTarget(name: "RedisWireTests", dependencies: ["RedisWire", "RedisWireTestSupport", "SessionGateShared"]),
        .testTarget(
            name: "SessionGateStoresTests",
            dependencies: [
                "SessionGateStores", "SessionGateCore", "RedisWire", "RedisWireTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ]
        ),
        .testTarget(
            name: "SessionGateProxyTests",
            dependencies: [
                "SessionGateProxy", "SessionGateCore", "SessionGateStores", "RedisWire", "RedisWireTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "SessionGateAppTests", dependencies: ["SessionGateApp", "SessionGateCore"]),
    ],
    swiftLanguageModes: [.v6]
)
