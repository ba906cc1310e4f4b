import Logging
import MedsettleAdmin
import MedsettleServer
import MedsettleStore
import PGClient
import Prometheus
import ServiceLifecycle

/// The HTTP side as a service of the engine's group: its listeners (`--metrics`, `--admin-listen`)
/// run until the group shuts down (after the MSLP front has drained), then its threads and its
/// own small database pool close.
struct AdminHTTPService: Service {
    /// Connections of the admin API: a few, apart from the settlement path's pool.
    static let poolSize = 2

    let listeners: [AdminHTTPConfiguration]
    let backend: AdminBackend
    let pool: PGPool
    let logger: Logger
    let onListening: @Sendable (AdminHTTPConfiguration, Int) -> Void

    /// - Parameter conninfo: the admin API's database (`admin-database-url`, else the engine's).
    /// - Parameter engineConninfo: the engine's database, which `/readyz` checks.
    init(listeners: [AdminHTTPConfiguration], conninfo: String, engineConninfo: String, secrets: ServerSecrets,
         registry: PrometheusCollectorRegistry, processMetrics: ProcessMetrics, store: Store, refusals: RefusalTally, logger: Logger,
         onListening: @escaping @Sendable (AdminHTTPConfiguration, Int) -> Void) throws {
        self.listeners = listeners
        pool = PGPool(conninfo: conninfo, size: Self.poolSize, acquireTimeoutSeconds: 2,
                      sessionSettings: [("statement_timeout", "10000"), ("lock_timeout", "3000")])
        backend = AdminBackend(pool: pool, secrets: secrets, readiness: ReadinessProbe(conninfo: engineConninfo), metrics: registry,
                               today: { [store] in store.businessDate() }, refusals: { refusals.counts(on: $0) },
                               beforeScrape: processMetrics.refresh)
        self.logger = logger
        self.onListening = onListening
        for listener in listeners where !EngineConfiguration.isLoopback(listener.host) {
            logger.warning("the HTTP side listens on a non-loopback address without TLS: put it on a management network or behind a TLS proxy",
                           metadata: ["address": "\(listener.host):\(listener.port)"])
        }
    }

    func run() async throws {
        let services = try listeners.map { listener in
            try AdminHTTPServer.application(configuration: listener, backend: backend, logger: Logger(label: "medsettle.admin")) {
                [logger] port in
                logger.notice("HTTP side listening", metadata: [
                    "address": "\(listener.host):\(port)", "routes": "\(listener.routes == .all ? "all" : "monitoring")"])
                onListening(listener, port)
            }.service
        }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        do {
            try await group.run()
        } catch {
            await backend.shutdown()
            pool.close()
            throw error
        }
        await backend.shutdown()
        pool.close()
    }
}
