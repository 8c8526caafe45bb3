// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "warden",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "warden", targets: ["warden"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries: one system-library target each, imported by exactly one Swift module.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The one C shim: what Swift cannot reach on Linux (the argument vector and the executable's path without /proc,
        // lgetxattr, and getxattrat, which glibc does not wrap).
        .target(name: "CShim"),

        // Pure core: facts, controls, profiles, the evaluator, findings. No I/O, no C: the time and
        // SHA-256 (a `Digester`, libcrypto's) are given to it.
        .target(name: "WardenCore", swiftSettings: swiftSettings),
        // Every read of the audited host goes through HostRoot; one file per probe.
        .target(name: "HostFacts", dependencies: ["WardenCore", "OpenSSLSigning", "SystemdJournal", "CShim"], swiftSettings: swiftSettings),
        .target(name: "OpenSSLSigning", dependencies: ["COpenSSL", "WardenCore"], swiftSettings: swiftSettings),
        .target(name: "SystemdJournal", dependencies: ["CSystemd"], swiftSettings: swiftSettings),
        // DSSE envelopes, in-toto statements, verification policies.
        .target(name: "Evidence", dependencies: ["WardenCore", "OpenSSLSigning"], swiftSettings: swiftSettings),
        .target(name: "Reports", dependencies: ["WardenCore"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "warden",
            dependencies: [
                "WardenCore", "HostFacts", "Reports", "Evidence", "OpenSSLSigning", "CShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test and measurement tool: N signed envelopes from real audits' findings (Scripts/make-fleet).
        .executableTarget(name: "make-fleet", dependencies: ["Evidence", "OpenSSLSigning", "WardenCore"], swiftSettings: swiftSettings),
        .target(name: "WardenTestSupport", dependencies: ["WardenCore", "HostFacts", "OpenSSLSigning"], path: "Tests/WardenTestSupport", swiftSettings: swiftSettings),
        // Yams (libyaml) only as the reference that Warden's own YAML reader is checked against.
        .testTarget(name: "WardenCoreTests", dependencies: ["WardenCore", "OpenSSLSigning", "WardenTestSupport", .product(name: "Yams", package: "Yams")], swiftSettings: swiftSettings),
        .testTarget(name: "HostFactsTests", dependencies: ["HostFacts", "WardenCore", "WardenTestSupport", "OpenSSLSigning", "SystemdJournal"], swiftSettings: swiftSettings),
        .testTarget(name: "EvidenceTests", dependencies: ["Evidence", "OpenSSLSigning", "WardenCore", "HostFacts", "WardenTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WardenCLITests", dependencies: ["WardenCore", "Evidence", "HostFacts", "OpenSSLSigning", "WardenTestSupport"], swiftSettings: swiftSettings),
    ]
)

// Fuzzing. The fuzz targets (Fuzz/Targets: each parser's harness and its invariants) are a library
// of the ordinary build, so that `swift test` replays the committed corpora (Fuzz/Corpus) and the
// inputs of past findings (Fuzz/Regressions) through them (Tests/FuzzTests). They live in this
// package, not one beside it, because the parsers they call are `package` API.
package.targets += [
    .target(name: "WardenFuzzTargets", dependencies: ["WardenCore", "HostFacts", "Evidence", "OpenSSLSigning", "Reports"], path: "Fuzz/Targets", swiftSettings: swiftSettings),
    .testTarget(name: "FuzzTests", dependencies: ["WardenFuzzTargets", "HostFacts", "WardenTestSupport"], swiftSettings: swiftSettings),
]

// The libFuzzer driver (Fuzz/Driver) exists only when Scripts/fuzz builds it, with WARDEN_FUZZ=1
// and -sanitize=fuzzer,address into .build-fuzz: `swift build` and `swift test` never see it.
if Context.environment["WARDEN_FUZZ"] == "1" {
    package.targets += [
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(name: "warden-fuzz", dependencies: ["WardenFuzzTargets", "CLibFuzzer"], path: "Fuzz/Driver", swiftSettings: swiftSettings),
    ]
}
