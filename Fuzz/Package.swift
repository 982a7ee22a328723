// swift-tools-version:5.4
// libFuzzer targets for SessionGate. A separate package, so the root Package.swift stays free of
// sanitizer flags. Build and run with `scripts/fuzz.sh`.
//
// Tools version 5.4 on purpose: from 5.5 on, SwiftPM links executables with
// `--defsym main=<module>_main`, which clashes with the `main` libFuzzer brings.
//
// The code under test is the root package's own sources, reached through symlinks
// (Sources/SessionGateCore -> ../../Sources/SessionGateCore), because the root package exports
// no library product to depend on.
import PackageDescription

/// Every fuzz target: an executable whose only entry point is `LLVMFuzzerTestOneInput`.
let coreTargets = [
    "FuzzCookieOpen", "FuzzCookieHeader", "FuzzPath", "FuzzJSON", "FuzzDirectives", "FuzzToken", "FuzzConfig",
]

let package = Package(
    name: "SessionGateFuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2")
    ],
    targets: [
        .target(
            name: "SessionGateCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            // `package` declarations need a package name, which SwiftPM passes only from 5.9 on.
            swiftSettings: [.unsafeFlags(["-package-name", "sessiongatefuzz"])]
        ),
        .target(name: "FuzzSupport", dependencies: ["SessionGateCore"]),
    ]
        + coreTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: ["SessionGateCore", "FuzzSupport", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: [.unsafeFlags(["-parse-as-library"])]
            )
        },
    swiftLanguageVersions: [.version("6")]
)
