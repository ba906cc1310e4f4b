import CoreMetrics
import Logging
import MedsettleCore
import PGClient
import Tracing

/// The engine's state in PostgreSQL, one unit per concern: the insured `people` and their
/// `families` (mutual aid's bindings), the `cards` and
/// their services, pharmacy and outpatient `settlements` (with cancel and reversal), hospital
/// `stays`, `reconciliation`, and the `reference` data in memory: catalog and policy versions,
/// institutions, and the terminals that may sign in. Every operation is one short
/// transaction on a pooled connection, run on the calling thread (never an event loop: libpq
/// blocks), and answers a typed `Answer`; trouble of the database itself is `UNAVAILABLE` or
/// `BUSY` (`TransactionRunner`).
///
/// Locking discipline (no deadlocks, no lost updates): every transaction that changes a person's
/// card, balance, accumulators or settlements first locks that person's row (`FOR UPDATE`), and
/// reads the card only after that lock is held. Concurrent work for one person therefore
/// serialises on one row; work for different people never waits on each other.
public final class Store: Sendable {
    public let pool: PGPool
    /// The catalog and policy versions, institutions and terminals, kept current by `follower`.
    public let reference: ReferenceBook
    private let follower: ReferenceFollower
    public let clock: any Clock
    /// How SETTLEs are grouped, with the workers capped at half the pool.
    public let batching: SettleBatching

    public let people: People
    public let families: Families
    public let cards: CardDesk
    public let settlements: Settlements
    public let stays: HospitalStays
    public let reconciliation: Reconciliation

    /// Server settings every connection of the store's pool sets when it opens (with the
    /// operator's timeouts): `PGPool(sessionSettings: Store.sessionSettings + …)`.
    ///
    /// `plan_cache_mode = force_generic_plan`: every statement here is written so that its
    /// generic plan is the right one — index look-ups through `= ANY(ARRAY(…))`, `LATERAL … LIMIT
    /// 1`, never a plan that depends on a parameter's value. Left to choose, PostgreSQL planned
    /// the settlement round's statements afresh at every execution (their generic cost estimate,
    /// over arrays of unknown length, stays above the custom one), and that planning was as much
    /// CPU as executing them: 0.37 ms of planning per settlement against 0.42 ms of execution at 8
    /// terminals (docs/PERFORMANCE.md, "Planning once").
    public static let sessionSettings: [(name: String, value: String)] = [("plan_cache_mode", "force_generic_plan")]

    /// Loads the reference data and starts following its changes on a connection of its own.
    /// - Parameter qrTokens: the QR signing keys and lifetime; by default a key derived from the
    ///   server secret and a 60 s lifetime.
    /// - Parameter batching: how SETTLE requests are grouped; its workers are capped at half the
    ///   pool so that other operations always find connections.
    /// - Parameter tracer: when given, a span per settlement round, linked to the traced requests
    ///   it carried; nil: rounds are not traced.
    public init(pool: PGPool, secrets: ServerSecrets, clock: any Clock = SystemClock(),
                logger: Logger = Logger(label: "medsettle.store"), qrTokens: QRTokens? = nil,
                batching: SettleBatching = SettleBatching(),
                metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance, tracer: (any Tracer)? = nil) throws {
        var batching = batching
        batching.workers = max(1, min(batching.workers, pool.size / 2))
        batching.lightLoadWorkers = max(batching.workers, min(batching.lightLoadWorkers, pool.size / 2))
        self.pool = pool
        self.clock = clock
        self.batching = batching
        reference = ReferenceBook(secrets: secrets, logger: logger)
        // Listen before the first load, so that a change committed after it is not missed.
        let listening = try ReferenceFollower.listen(pool.conninfo)
        try reference.load(Set(ReferenceBook.Part.allCases), from: listening)
        follower = ReferenceFollower(book: reference, conninfo: pool.conninfo, logger: logger)
        follower.start(listening: listening)
        let runner = TransactionRunner(pool: pool, logger: logger)
        let presenter = CardPresenter(secrets: secrets, qrTokens: qrTokens ?? QRTokens(keys: [secrets.qrKey]), clock: clock)
        let decider = ClaimDecider(presenter: presenter, reference: reference)
        people = People(runner: runner, clock: clock)
        families = Families(runner: runner, clock: clock)
        cards = CardDesk(runner: runner, presenter: presenter, clock: clock)
        let settlementIDs = SettlementIDs()
        settlements = Settlements(runner: runner, decider: decider, clock: clock, ids: settlementIDs, batching: batching,
                                  metrics: SettlementMetrics(factory: metricsFactory), tracing: tracer.map(RoundTracing.init))
        stays = HospitalStays(runner: runner, decider: decider, clock: clock, ids: settlementIDs)
        reconciliation = Reconciliation(runner: runner)
    }

    /// Stops the settlement workers after they have answered every queued SETTLE, and stops
    /// following reference changes. The pool stays open (its owner closes it).
    public func close() async {
        await settlements.close()
        await follower.stop()
    }

    /// The business date now, in Asia/Shanghai.
    public func businessDate() -> BusinessDate { BusinessDate(unixSeconds: clock.now()) }
}
