import ArgumentParser
import CoreMetrics
import Foundation
import Logging
import MedsettleConfig
import MedsettleServer
import MedsettleStore
import NIOCore
import PGClient
import Prometheus
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve MSLP/1 on a TCP port against a migrated database.",
        discussion: """
            Every setting is a flag, an environment variable or a line of the config file (--config), in that \
            order of precedence; `medsettle config print` shows the effective values and docs/OPERATIONS.md lists \
            them all. A non-loopback listener needs --tls-cert/--tls-key, or --insecure. On SIGTERM or SIGINT it \
            stops listening, answers every request already read, closes the connections and exits 0 within \
            --shutdown-grace; a second signal stops it at once. Run `medsettle migrate --reference-data` first \
            on a new database.
            """
    )

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let config: EngineConfiguration
        do {
            config = try EngineConfiguration(try options.resolve())
        } catch let error as SettingError {
            throw ValidationError(error.description)
        }
        LogOptions.bootstrap(config.logLevel)
        let logger = Logger(label: "medsettle")
        if config.tls == nil, !EngineConfiguration.isLoopback(config.host) {
            logger.warning("plain TCP on a non-loopback address: PINs cross the network in the clear (--insecure)",
                           metadata: ["listen": "\(config.host):\(config.port)"])
        }

        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["mslp_request_duration_seconds"] =
            [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5].map { Duration.seconds($0) }
        factory.durationHistogramBuckets["medsettle_db_pool_wait_seconds"] =
            [0.0001, 0.001, 0.01, 0.1, 0.5, 1, 2, 5].map { Duration.seconds($0) }
        factory.valueHistogramBuckets["medsettle_settle_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256]

        let secrets = try config.secrets()
        let pool = PGPool(conninfo: config.databaseURL, size: config.poolSize, acquireTimeoutSeconds: Double(config.poolWait),
                          observer: PoolMetrics(factory: factory))
        let store = try Store(pool: pool, secrets: secrets, qrTokens: try QROptions.tokens(secrets, lifetime: config.qrLifetime),
                              batching: config.batching, metricsFactory: factory)
        let server = try await MedsettleServer.start(configuration: try config.server, store: store,
                                                     metrics: ServerMetrics(factory: factory), logger: Logger(label: "medsettle.server"))
        var endpoint: MetricsEndpoint?
        if let metrics = config.metrics {
            endpoint = try await MetricsEndpoint.start(host: metrics.host, port: metrics.port, registry: registry)
        }
        logger.notice("medsettle serving", metadata: ["port": "\(server.localPort)", "tls": "\(config.tls != nil)"])

        let engine = EngineService(server: server, store: store, pool: pool, metrics: endpoint,
                                   grace: .seconds(Int64(config.shutdownGrace)), logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: engine, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        if !engine.drainedCleanly.value {
            throw ExitCode(1)
        }
    }
}

/// The running engine as a service: waits for the graceful-shutdown signal, then drains the
/// front (answering every request already read), stops the settlement workers and the pool.
/// A second SIGTERM or SIGINT while draining exits at once.
struct EngineService: Service {
    let server: MedsettleServer
    let store: Store
    let pool: PGPool
    let metrics: MetricsEndpoint?
    let grace: TimeAmount
    let logger: Logger
    let drainedCleanly = SharedFlag()

    func run() async throws {
        try? await gracefulShutdown()
        logger.notice("shutting down", metadata: ["grace_s": "\(grace.nanoseconds / 1_000_000_000)"])
        let escalation = stopAtOnceOnSecondSignal(logger: logger)
        defer { escalation.forEach { $0.cancel() } }
        let clean = await server.drain(grace: grace)
        store.close()
        pool.close()
        await metrics?.shutdown()
        drainedCleanly.value = clean
        logger.notice(clean ? "stopped: every request read was answered" : "stopped at the end of the grace period")
    }
}

/// A Sendable boolean set once by the service and read by the command after the group ends.
final class SharedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    var value: Bool {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

/// While draining, another SIGTERM or SIGINT ends the process at once (exit 1).
private func stopAtOnceOnSecondSignal(logger: Logger) -> [any DispatchSourceSignal] {
    [SIGTERM, SIGINT].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            logger.warning("second signal: stopping at once")
            exit(1)
        }
        source.resume()
        return source
    }
}
