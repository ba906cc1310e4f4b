// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "medsettle",
    platforms: [.macOS(.v15)], // Synchronization's Mutex
    products: [
        .executable(name: "medsettle", targets: ["medsettle"]),
        .executable(name: "medsettle-load", targets: ["medsettle-load"]),
        // The pure modules, for the separate micro-benchmark package in Benchmarks/.
        .library(name: "MedsettleCore", targets: ["MedsettleCore"]),
        .library(name: "MSLP", targets: ["MSLP"]),
        .library(name: "ReferenceFiles", targets: ["ReferenceFiles"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // RFC 4180 CSV (quoted fields, doubled quotes, line breaks inside quotes) for the reference files.
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.2"),
        // The operators' HTTP side (health, readiness, metrics, admin API, console). Without its
        // default traits: they bring swift-configuration, which the engine does not use.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        // A span per request and per settlement round (docs/DESIGN.md "Tracing").
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // Their export to an OpenTelemetry collector, over OTLP/HTTP only: the gRPC exporter (the
        // default traits) would add gRPC and HTTP/2 to every clean build (docs/DEPLOYMENT.md).
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // libpq, the PostgreSQL C client library (apt: libpq-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // A small, safe Swift layer over libpq: connections, prepared statements, typed rows.
        .target(name: "PGClient", dependencies: ["CLibPQ"]),
        // Pure business logic: money, pricing, PIN policy, card lifecycle. No I/O.
        .target(name: "MedsettleCore"),
        // The operator's reference files (institutions, catalog, policy, benefits; the demo's
        // terminals) read into validated rows. No I/O: text in, rows or an error naming the line out.
        .target(
            name: "ReferenceFiles",
            dependencies: ["MedsettleCore", .product(name: "CSV", package: "CSV.swift")]
        ),
        // The settings: flags over environment over config file over defaults. No I/O.
        .target(name: "MedsettleConfig"),
        // MSLP/1 line parsing and encoding. No I/O.
        .target(name: "MSLP", dependencies: ["MedsettleCore"]),
        // The SQL migrations and the demo seed, shipped as resources of this target.
        .target(
            name: "MedsettleSQL",
            path: "sql",
            resources: [.copy("migrations"), .copy("seed"), .copy("roles")]
        ),
        // Each operation as one short PostgreSQL transaction.
        .target(
            name: "MedsettleStore",
            dependencies: [
                "PGClient", "MedsettleCore", "MedsettleSQL", "ReferenceFiles",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // MSLP over SwiftNIO: the line framing both sides share, and a client connection.
        .target(
            name: "MSLPChannel",
            dependencies: [
                "MSLP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Starts a private PostgreSQL cluster (initdb + pg_ctl) for the demo and the tests.
        .target(name: "LocalPostgres", dependencies: ["CSpawn"]),
        // posix_spawn's close-from file action, which Swift's Glibc module does not expose.
        .target(name: "CSpawn"),
        // The SwiftNIO TCP front.
        .target(
            name: "MedsettleServer",
            dependencies: [
                "MSLP", "MSLPChannel", "MedsettleCore", "MedsettleStore", "PGClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // The operators' HTTP side on its own address: /healthz, /readyz, /metrics, the admin API
        // (bearer tokens, an audit row per action) and the staff console (plain HTML, CSS, JS).
        .target(
            name: "MedsettleAdmin",
            dependencies: [
                "MedsettleStore", "MedsettleCore", "PGClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [.copy("Console")]
        ),
        .executableTarget(
            name: "medsettle",
            dependencies: [
                "MedsettleServer", "MedsettleAdmin", "MedsettleStore", "LocalPostgres", "MSLP", "MSLPChannel", "MedsettleCore", "PGClient",
                "MedsettleConfig", "LoadData", "ReferenceFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ]
        ),
        // The generated population of load tests (`medsettle seed`, the harness): not part of the
        // production store.
        .target(
            name: "LoadData",
            dependencies: [
                "MedsettleCore", "MedsettleStore", "PGClient",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "loadtest/Sources/LoadData"
        ),
        // The load harness (loadtest/): a library the tests can drive, and its command.
        .target(
            name: "LoadHarness",
            dependencies: [
                "MSLP", "MSLPChannel", "MedsettleCore", "MedsettleStore", "PGClient", "LoadData",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "loadtest/Sources/LoadHarness"
        ),
        .executableTarget(
            name: "medsettle-load",
            dependencies: ["LoadHarness", "MSLPChannel", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "loadtest/Sources/medsettle-load"
        ),
        .testTarget(name: "MedsettleCoreTests", dependencies: [
            "MedsettleCore", "ReferenceFiles", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "MSLPTests", dependencies: ["MSLP", "MedsettleCore"]),
        .testTarget(name: "ConfigTests", dependencies: ["MedsettleConfig"]),
        // The connection's state machine and handler, without sockets or a database.
        .testTarget(
            name: "MedsettleServerTests",
            dependencies: [
                "MedsettleServer", "MSLP", "MSLPChannel", "MedsettleStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "MedsettleServer", "MedsettleStore", "LocalPostgres", "MSLP", "MSLPChannel", "MedsettleCore", "PGClient",
                "LoadHarness", "LoadData", "MedsettleSQL", "MedsettleAdmin", "CSpawn",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            exclude: ["TLS"] // test certificates, read from the source tree
        ),
    ]
)
