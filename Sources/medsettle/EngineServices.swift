import CoreMetrics
import Dispatch
import Foundation
import Logging
import MedsettleAdmin
import MedsettleServer
import MedsettleStore
import NIOCore
import NIOPosix
import PGClient
import Prometheus
import ServiceLifecycle
import Synchronization

/// How `serve` and `demo` run: the settlement workers, the purge of expired used QR tokens, the
/// HTTP side (when configured) and the engine's front are services of one `ServiceGroup`. SIGTERM
/// or SIGINT shuts the group down gracefully, in reverse order: the front drains first (its
/// SETTLEs still need the workers), then the HTTP side closes and the purge stops, then the
/// settlement workers answer their queue and the pool closes.
/// Returns false when the drain did not finish cleanly (the grace ran out), for exit 1.
func runEngine(_ config: EngineConfiguration, conninfo: String, secrets: ServerSecrets, log: EngineLog, logger: Logger,
               onAdminListening: @escaping @Sendable (AdminHTTPConfiguration, Int) -> Void = { _, _ in },
               onListening: @escaping @Sendable (Int) -> Void) async throws -> Bool {
    let (registry, factory) = prometheusMetrics()
    log.countDrops(in: factory)
    let processMetrics = ProcessMetrics(factory: factory, version: BuildInfo.version)
    let tracing = try config.otelEndpoint.map { try EngineTracing(endpoint: $0, logger: logger) }
    let pool = PGPool(conninfo: conninfo, size: config.poolSize, acquireTimeoutSeconds: Double(config.poolWait),
                      sessionSettings: Store.sessionSettings + config.databaseTimeouts, observer: PoolMetrics(factory: factory, size: config.poolSize))
    let store: Store
    do {
        store = try Store(pool: pool, secrets: secrets, qrTokens: try config.qrTokens(secrets), batching: config.batching,
                          metricsFactory: factory, tracer: tracing?.requests.tracer)
    } catch {
        pool.close()
        throw error
    }
    let refusals = RefusalTally(today: { [store] in store.businessDate() })
    var server = try config.server
    server.tracing = tracing?.requests
    // SIGHUP rereads the certificate and key: renewed certificates take effect for new connections.
    let certificateReload = server.tls.map { tls in observeHangup { reloadCertificates(tls, logger: logger) } }
    defer { certificateReload?.cancel() }
    let engine = EngineService(server: server, store: store, grace: .seconds(Int64(config.shutdownGrace)),
                               metricsFactory: factory, refusals: refusals, log: log, logger: logger, onListening: onListening)
    // The span exporter first, so that it stops last: the spans of the requests answered while
    // the front drains are still sent.
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = tracing.map { [.init(service: $0.service)] } ?? []
    services.append(.init(service: SettlementService(store: store, pool: pool)))
    // After the settlement service, so that it stops before the pool closes.
    if config.qrPurgeInterval > 0 {
        services.append(.init(service: QRPurgeService(purge: QRUsePurge(pool: pool, clock: store.clock),
                                                      interval: .seconds(config.qrPurgeInterval), batch: config.qrPurgeBatch,
                                                      metricsFactory: factory, logger: logger)))
    }
    // The HTTP side: `--metrics` alone (health, readiness, metrics) and `--admin-listen` (those,
    // the admin API and the console), each on its own address; one listener when they are the same.
    var listeners: [AdminHTTPConfiguration] = []
    if let metrics = config.metrics { listeners.append(AdminListenerSettings.metricsOnly(host: metrics.host, port: metrics.port)) }
    if let admin = config.admin {
        listeners.removeAll { $0.host == admin.http.host && $0.port == admin.http.port }
        listeners.append(admin.http)
    }
    if !listeners.isEmpty {
        services.append(.init(service: try AdminHTTPService(
            listeners: listeners, conninfo: config.admin?.databaseURL ?? conninfo, engineConninfo: conninfo, secrets: secrets,
            registry: registry, processMetrics: processMetrics, store: store, refusals: refusals, logger: logger, onListening: onAdminListening)))
    }
    services.append(.init(service: engine, successTerminationBehavior: .gracefullyShutdownGroup))
    var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    // A backstop only: the engine's drain closes what is left at the end of its grace itself.
    configuration.maximumGracefulShutdownDuration = .seconds(config.shutdownGrace + 10)
    try await ServiceGroup(configuration: configuration).run()
    return engine.drainedCleanly
}

/// Rereads the listener's certificate and key (SIGHUP). A renewal that cannot be read leaves the
/// current certificate in place and says why.
private func reloadCertificates(_ tls: ReloadableTLS, logger: Logger) {
    do {
        try tls.reload()
        logger.notice("TLS certificate reloaded: new connections present it, open ones keep theirs")
    } catch {
        logger.error("TLS certificate not reloaded; the current one stays", metadata: ["error": "\(error)"])
    }
}

/// The Prometheus registry behind `--metrics`, with the histograms' buckets.
private func prometheusMetrics() -> (PrometheusCollectorRegistry, PrometheusMetricsFactory) {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.durationHistogramBuckets["medsettle_request_duration_seconds"] =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5].map { Duration.seconds($0) }
    factory.durationHistogramBuckets["medsettle_db_pool_wait_seconds"] =
        [0.0001, 0.001, 0.01, 0.1, 0.5, 1, 2, 5].map { Duration.seconds($0) }
    factory.valueHistogramBuckets["medsettle_settle_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    return (registry, factory)
}

/// The engine's front as a service: starts the MSLP listener, waits for the group's graceful
/// shutdown, then drains (answering every request already read). Cancellation (the group's
/// backstop) closes the connections at once. A second SIGTERM or SIGINT while draining exits at
/// once with 1.
final class EngineService: Service {
    private let server: ServerConfiguration
    private let store: Store
    private let grace: TimeAmount
    private let metricsFactory: any MetricsFactory
    private let refusals: RefusalTally
    private let log: EngineLog
    private let logger: Logger
    private let onListening: @Sendable (Int) -> Void
    private let drained = Mutex(false)

    init(server: ServerConfiguration, store: Store, grace: TimeAmount, metricsFactory: any MetricsFactory, refusals: RefusalTally,
         log: EngineLog, logger: Logger, onListening: @escaping @Sendable (Int) -> Void) {
        self.server = server
        self.refusals = refusals
        self.store = store
        self.log = log
        self.grace = grace
        self.metricsFactory = metricsFactory
        self.logger = logger
        self.onListening = onListening
    }

    /// Whether the last run drained every connection within the grace.
    var drainedCleanly: Bool { drained.withLock { $0 } }

    func run() async throws {
        let front = try await MedsettleServer.start(configuration: server, store: store, metrics: ServerMetrics(factory: metricsFactory, refusals: refusals),
                                                    logger: Logger(label: "medsettle.server"))
        onListening(front.localPort)

        try? await gracefulShutdown()
        logger.notice("shutting down", metadata: ["grace_s": "\(grace.nanoseconds / 1_000_000_000)"])
        let escalation = stopAtOnceOnSecondSignal(logger: logger, log: log)
        defer { escalation.forEach { $0.cancel() } }
        let clean = await withTaskCancellationHandler {
            await front.drain(grace: grace)
        } onCancel: {
            front.closeAllNow()
        }
        drained.withLock { $0 = clean }
        logger.notice(clean ? "stopped: every request read was answered" : "stopped at the end of the grace period")
    }
}

/// The settlement workers and the database pool as a service: when the group shuts down (after
/// the front has drained), the workers answer what is queued, then the pool closes.
struct SettlementService: Service {
    let store: Store
    let pool: PGPool

    func run() async throws {
        try? await gracefulShutdown()
        await store.close()
        pool.close()
    }
}


/// While draining, another SIGTERM or SIGINT ends the process at once (exit 1), after writing
/// the log lines waiting (for at most 2 s, should the log's destination be stalled).
private func stopAtOnceOnSecondSignal(logger: Logger, log: EngineLog) -> [any DispatchSourceSignal] {
    [SIGTERM, SIGINT].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            logger.warning("second signal: stopping at once")
            log.writer.close(timeout: .seconds(2))
            exit(1)
        }
        source.resume()
        return source
    }
}
