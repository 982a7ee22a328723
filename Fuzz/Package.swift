// swift-tools-version:5.4
// libFuzzer targets for SessionGate. A separate package, so the root Package.swift stays free of
// sanitizer flags. Build and run with `scripts/fuzz.sh`.
//
// Tools version 5.4 on purpose: from 5.5 on, SwiftPM links executables with
// `--defsym main=<module>_main`, which clashes with the `main` libFuzzer brings.
//
// The code under test is the root package's own sources, reached through symlinks
// (Sources/SessionGateCore -> ../../Sources/SessionGateCore, and SessionGateShared, which it
// depends on), because the root package exports
// no library product to depend on.
import PackageDescription

/// A fuzz target: an executable whose only entry point is `LLVMFuzzerTestOneInput`.
func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport", "SessionGateCore"] + dependencies,
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    )
}

let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")

let package = Package(
    name: "SessionGateFuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        // `Secret` and the URL authority parser (symlinked like SessionGateCore, which re-exports it).
        .target(name: "SessionGateShared"),
        .target(
            name: "SessionGateCore",
            dependencies: ["SessionGateShared", crypto],
            // `package` declarations need a package name, which SwiftPM passes only from 5.9 on.
            swiftSettings: [.unsafeFlags(["-package-name", "sessiongatefuzz"])]
        ),
        // RedisWire's decoder and value type only (symlinked files): the rest of RedisWire needs NIOPosix.
        .target(name: "RESPCodec", dependencies: [nioCore]),
        .target(name: "FuzzSupport", dependencies: ["SessionGateCore"]),

        fuzzTarget("FuzzCookieOpen", []),
        fuzzTarget("FuzzCookieHeader", []),
        fuzzTarget("FuzzPath", []),
        fuzzTarget("FuzzLoginRedirect", []),
        fuzzTarget("FuzzJSON", []),
        fuzzTarget("FuzzDirectives", []),
        fuzzTarget("FuzzToken", [crypto]),
        fuzzTarget("FuzzConfig", []),
        fuzzTarget("FuzzTOML", []),
        fuzzTarget("FuzzRESP", ["RESPCodec", nioCore]),
        fuzzTarget(
            "FuzzHTTP1Response",
            [
                nioCore, .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        fuzzTarget(
            "FuzzHTTP1Request",
            [
                nioCore, .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        fuzzTarget(
            "FuzzHTTPHead",
            [
                nioCore, .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageVersions: [.version("6")]
)
