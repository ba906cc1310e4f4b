// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks of the engine's pure hot path: MSLP request parsing, item-list parsing, reply
// encoding and pricing (ns per operation and allocations per operation).
//
// A package of its own, so that the root package, `swift test` and CI never resolve or build
// ordo-one/benchmark. Run from this folder:
//
//     swift package --allow-writing-to-package-directory benchmark
//
// The benchmark plugin finds its targets by location: each is an executable target whose folder
// sits directly in `Benchmarks/` (here `Benchmarks/Benchmarks/<Target>/`).
let package = Package(
    name: "medsettle-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The engine itself; `name:` fixes how targets refer to it whatever the checkout's folder is called.
        .package(name: "medsettle", path: ".."),
        // MallocInterposer counts allocations without jemalloc; naming the trait also leaves out the
        // default RuntimeInterposer (ARC counters on Linux + Swift 6.3), which these benchmarks do not use.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MSLPBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MSLP", package: "medsettle"),
                .product(name: "MedsettleCore", package: "medsettle"),
            ],
            path: "Benchmarks/MSLPBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "PricingBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MedsettleCore", package: "medsettle"),
                .product(name: "ReferenceFiles", package: "medsettle"),
            ],
            path: "Benchmarks/PricingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
