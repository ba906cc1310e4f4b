import CoreMetrics
import Dispatch
import Foundation
import Logging
import MedsettleServer
import MedsettleStore
import NIOCore
import NIOPosix
import PGClient
import Prometheus
import ServiceLifecycle
import Synchronization

/// How `serve` and `demo` run: the metrics endpoint (when configured) and the engine are services
/// of one `ServiceGroup`. SIGTERM or SIGINT shuts the group down gracefully: the engine drains
/// first, then the metrics endpoint closes. Returns false when the drain did not finish cleanly
/// (the grace ran out), for exit 1.
func runEngine(_ config: EngineConfiguration, conninfo: String, secrets: ServerSecrets, logger: Logger,
               onListening: @escaping @Sendable (Int) -> Void) async throws -> Bool {
    let (registry, factory) = prometheusMetrics()
    let engine = EngineService(
        server: try config.server, conninfo: conninfo, poolSize: config.poolSize, poolWait: config.poolWait,
        batching: config.batching, secrets: secrets, qrTokens: try config.qrTokens(secrets),
        grace: .seconds(Int64(config.shutdownGrace)), metricsFactory: factory, logger: logger, onListening: onListening)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    if let metrics = config.metrics {
        services.append(.init(service: MetricsService(host: metrics.host, port: metrics.port, registry: registry)))
    }
    services.append(.init(service: engine, successTerminationBehavior: .gracefullyShutdownGroup))
    var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    // A backstop only: the engine's drain closes what is left at the end of its grace itself.
    configuration.maximumGracefulShutdownDuration = .seconds(config.shutdownGrace + 10)
    try await ServiceGroup(configuration: configuration).run()
    return engine.drainedCleanly
}

/// The Prometheus registry behind `--metrics`, with the histograms' buckets.
private func prometheusMetrics() -> (PrometheusCollectorRegistry, PrometheusMetricsFactory) {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.durationHistogramBuckets["mslp_request_duration_seconds"] =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5].map { Duration.seconds($0) }
    factory.durationHistogramBuckets["medsettle_db_pool_wait_seconds"] =
        [0.0001, 0.001, 0.01, 0.1, 0.5, 1, 2, 5].map { Duration.seconds($0) }
    factory.valueHistogramBuckets["medsettle_settle_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    return (registry, factory)
}

/// The engine as a service. Its `run()` owns the pool and the store from start to close: opens
/// them, starts the MSLP listener, waits for the group's graceful shutdown, then drains the front
/// (answering every request already read), stops the settlement workers and closes the pool.
/// Cancellation (the group's backstop) closes the connections at once. A second SIGTERM or SIGINT
/// while draining exits at once with 1.
final class EngineService: Service {
    private let server: ServerConfiguration
    private let conninfo: String
    private let poolSize: Int
    private let poolWait: Int
    private let batching: SettleBatching
    private let secrets: ServerSecrets
    private let qrTokens: QRTokens
    private let grace: TimeAmount
    private let metricsFactory: any MetricsFactory
    private let logger: Logger
    private let onListening: @Sendable (Int) -> Void
    private let drained = Mutex(false)

    init(server: ServerConfiguration, conninfo: String, poolSize: Int, poolWait: Int, batching: SettleBatching,
         secrets: ServerSecrets, qrTokens: QRTokens, grace: TimeAmount, metricsFactory: any MetricsFactory, logger: Logger,
         onListening: @escaping @Sendable (Int) -> Void) {
        self.server = server
        self.conninfo = conninfo
        self.poolSize = poolSize
        self.poolWait = poolWait
        self.batching = batching
        self.secrets = secrets
        self.qrTokens = qrTokens
        self.grace = grace
        self.metricsFactory = metricsFactory
        self.logger = logger
        self.onListening = onListening
    }

    /// Whether the last run drained every connection within the grace.
    var drainedCleanly: Bool { drained.withLock { $0 } }

    func run() async throws {
        let pool = PGPool(conninfo: conninfo, size: poolSize, acquireTimeoutSeconds: Double(poolWait),
                          observer: PoolMetrics(factory: metricsFactory))
        let store: Store
        do {
            store = try Store(pool: pool, secrets: secrets, qrTokens: qrTokens, batching: batching, metricsFactory: metricsFactory)
        } catch {
            pool.close()
            throw error
        }
        let front: MedsettleServer
        do {
            front = try await MedsettleServer.start(configuration: server, store: store, metrics: ServerMetrics(factory: metricsFactory),
                                                    logger: Logger(label: "medsettle.server"))
        } catch {
            await Self.close(store, pool)
            throw error
        }
        onListening(front.localPort)

        try? await gracefulShutdown()
        logger.notice("shutting down", metadata: ["grace_s": "\(grace.nanoseconds / 1_000_000_000)"])
        let escalation = stopAtOnceOnSecondSignal(logger: logger)
        defer { escalation.forEach { $0.cancel() } }
        let clean = await withTaskCancellationHandler {
            await front.drain(grace: grace)
        } onCancel: {
            front.closeAllNow()
        }
        await Self.close(store, pool)
        drained.withLock { $0 = clean }
        logger.notice(clean ? "stopped: every request read was answered" : "stopped at the end of the grace period")
    }

    /// Stops the settlement workers once they have answered their queue, then closes the pool.
    private static func close(_ store: Store, _ pool: PGPool) async {
        await store.close()
        pool.close()
    }
}

/// The Prometheus endpoint as a service: listens until the group shuts down.
struct MetricsService: Service {
    let host: String
    let port: Int
    let registry: PrometheusCollectorRegistry

    func run() async throws {
        let endpoint = try await MetricsEndpoint.start(host: host, port: port, registry: registry)
        try? await gracefulShutdown()
        await endpoint.shutdown()
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
