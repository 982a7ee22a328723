// swift-tools-version:6.0
// Micro-benchmarks of SessionGateCore's hot pure functions (issue 7 §2). A separate package, so
// the root Package.swift stays untouched; run with `Benchmarks/micro/run.sh`.
//
// The code under test is the root package's own sources, reached through a committed symlink
// (Sources/SessionGateCore -> ../../../Sources/SessionGateCore): a path dependency could only use
// products (the root exports the `sessiongate` executable only), and a target `path:` outside the
// package root is refused ("target ... is outside the package root").
import PackageDescription

let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")

let package = Package(
    name: "SessionGateMicro",
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2")
    ],
    targets: [
        // Symlinked too: SessionGateCore depends on (and re-exports) it.
        .target(name: "SessionGateShared"),
        .target(name: "SessionGateCore", dependencies: ["SessionGateShared", crypto]),
        // Counts heap allocations by defining malloc & co. in the executable (glibc only).
        .target(name: "MallocCounter"),
        // Candidate optimisations of core functions, measured side by side with the originals.
        .target(name: "Prototypes", dependencies: ["SessionGateCore", crypto]),
        .executableTarget(
            name: "MicroBench",
            dependencies: ["SessionGateCore", "MallocCounter", "Prototypes", crypto],
            // Export the executable's malloc & co. so the Swift runtime and libc's callers bind to them.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
