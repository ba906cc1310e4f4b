import MedsettleCore
import MedsettleStore
import NIOPosix
import PGClient
import Prometheus

/// What the HTTP side works with: its own small database pool (admin work never takes one of the
/// settlement path's connections), the readiness probe of the engine's database, the metrics
/// registry, and the engine's own figures that are not in the database.
public struct AdminBackend: Sendable {
    /// Connections for the admin API (the role of `admin-database-url`, which must be allowed to
    /// disable terminals: the engine's application role may not).
    public let pool: PGPool
    /// The server secret: `TerminalAdministration` takes it (disable and enable never use it).
    public let secrets: ServerSecrets
    public let readiness: ReadinessProbe
    public let metrics: PrometheusCollectorRegistry?
    /// Brings the figures read on demand (the process's own) up to date before `/metrics` answers.
    public let beforeScrape: @Sendable () -> Void
    /// The business date now (the store's clock).
    public let today: @Sendable () -> BusinessDate
    /// This engine's refusals of a business date, by code (`RefusalTally`).
    public let refusals: @Sendable (BusinessDate) -> [String: Int64]
    /// Threads for the blocking database calls (libpq blocks), as many as the pool has connections.
    let threads: NIOThreadPool

    public init(pool: PGPool, secrets: ServerSecrets, readiness: ReadinessProbe, metrics: PrometheusCollectorRegistry?,
                today: @escaping @Sendable () -> BusinessDate, refusals: @escaping @Sendable (BusinessDate) -> [String: Int64],
                beforeScrape: @escaping @Sendable () -> Void = {}) {
        self.pool = pool
        self.secrets = secrets
        self.readiness = readiness
        self.metrics = metrics
        self.beforeScrape = beforeScrape
        self.today = today
        self.refusals = refusals
        threads = NIOThreadPool(numberOfThreads: max(1, min(pool.size, 8)))
        threads.start()
    }

    /// Runs blocking work off the event loops and the cooperative pool.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runIfActive(body)
    }

    /// Stops the threads (after the listeners have closed).
    public func shutdown() async {
        try? await threads.shutdownGracefully()
    }
}
