import CoreMetrics
import Foundation
import Logging
import MedsettleCore
import PGClient

/// The engine's state in PostgreSQL. Every public operation is one short transaction on one pooled
/// connection, run on the calling thread (which must not be an event loop: callers use a thread
/// pool), and answers an `Outcome`; database trouble becomes `UNAVAILABLE`, `BUSY` or `INTERNAL`.
///
/// Locking discipline (no deadlocks, no lost updates): every transaction that changes a person's
/// card, balance, accumulators or settlements first locks that person's row (`FOR UPDATE`), and
/// reads the card only after that lock is held. Concurrent work for one person therefore
/// serialises on one row; work for different people never waits on each other.
public final class Store: Sendable {
    public let pool: PGPool
    let secrets: ServerSecrets
    public let reference: ReferenceData
    public let institutions: [String: InstitutionRecord]
    let clock: any Clock
    let logger: Logger
    public let qrTokens: QRTokens
    /// Threads that settle in batches (group commit); see `SettlementBatch.swift`.
    public let batching: SettleBatching
    let settleQueue: SettleQueue
    /// Settlements per shared transaction, and how many ran alone (metrics).
    let batchSizes: Recorder
    let settledAlone: Counter
    /// "database unavailable", at most a line a second during an outage.
    let unavailableLog = LogThrottle()

    /// Connects, and loads the catalog, policy and institutions (reference data changes only by
    /// migration or seed, so a restart picks up changes).
    /// - Parameter qrTokens: the QR signing keys and lifetime; by default a key derived from the
    ///   server secret and a 60 s lifetime.
    /// - Parameter batching: how SETTLE requests are grouped; its workers are capped at half the
    ///   pool so that other operations always find connections.
    public init(pool: PGPool, secrets: ServerSecrets, clock: any Clock = SystemClock(),
                logger: Logger = Logger(label: "medsettle.store"), qrTokens: QRTokens? = nil,
                batching: SettleBatching = SettleBatching(),
                metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance) throws {
        batchSizes = Recorder(label: "medsettle_settle_batch_size", factory: metricsFactory)
        settledAlone = Counter(label: "medsettle_settlements_alone_total", factory: metricsFactory)
        var batching = batching
        batching.workers = max(1, min(batching.workers, pool.size / 2))
        self.batching = batching
        // The queue's workers call back into the store; a weak reference keeps the store freeable.
        let queue = LateBound<Store>()
        self.settleQueue = SettleQueue(limits: batching) { jobs in
            guard let store = queue.value else {
                for job in jobs { job.complete(.refused(.unavailable, "the engine is shutting down")) }
                return
            }
            store.settleBatch(jobs)
        }
        self.pool = pool
        self.secrets = secrets
        self.qrTokens = qrTokens ?? QRTokens(keys: [secrets.qrKey])
        self.clock = clock
        self.logger = logger
        (reference, institutions) = try pool.withConnection { try Self.loadReference($0) }
        queue.value = self
    }

    /// Stops the settlement workers after they have answered every queued SETTLE. The pool stays
    /// open (its owner closes it).
    public func close() {
        settleQueue.close()
    }

    /// The business date now, in Asia/Shanghai.
    public func businessDate() -> BusinessDate { BusinessDate(unixSeconds: clock.now()) }

    /// Runs one operation: retries a transaction that lost a serialisation race or met a
    /// concurrent twin of its own trace (the retry then finds the twin's record), and maps
    /// infrastructure failures to the protocol's codes.
    ///
    /// A connection lost while COMMIT was on its way leaves the outcome unknown, and such an
    /// operation is never answered as not done. A traced operation (`traced`) is idempotent by
    /// (terminal, trace), so it is simply run again once the database answers: if the lost commit
    /// happened, the retry finds its trace and answers it as a repeat; if not, it does the work now —
    /// exactly once either way, since the trace's unique key stops a second. When the database
    /// stays out of reach, or for an untraced operation, the answer is `BUSY` with the advice to
    /// send the same request again or QUERY it. An answer found by trace after a lost commit
    /// carries no `repeat=1`: the terminal sent the request once.
    /// - Parameter outcomeUnknown: an earlier attempt (a batch) already lost its commit.
    func perform(_ operation: String, traced: Bool = false, outcomeUnknown: Bool = false,
                 _ body: (PGConnection) throws -> Outcome) -> Outcome {
        var attempt = 0
        var unknown = outcomeUnknown
        var resolving = 0
        while true {
            attempt += 1
            do {
                let outcome = try pool.withConnection { connection in try body(connection) }
                // The trace found after a lost commit is this very request's: the terminal sent it
                // once, so it is answered as done now, not as a repeat of an earlier send.
                return unknown ? outcome.withoutRepeatMarker : outcome
            } catch let error as PGError where attempt < 4 && (error.isRetryable || error.isUniqueViolation) {
                logger.debug("retrying after a concurrent conflict", metadata: ["operation": "\(operation)", "sqlstate": "\(error.sqlState ?? "")"])
                continue
            } catch {
                if let error = error as? PGError, error.commitOutcomeUnknown {
                    logger.warning("connection lost at COMMIT; outcome unknown", metadata: ["operation": "\(operation)"])
                    unknown = true
                }
                let databaseTrouble = (error as? PGError)?.isConnectionFailure == true || error is PGPool.Exhausted
                if unknown, databaseTrouble {
                    guard traced, resolving < Self.unknownCommitRetries else { return Self.outcomeUnknown }
                    resolving += 1
                    Thread.sleep(forTimeInterval: 0.25 * Double(resolving))
                    continue
                }
                if let outcome = infrastructureOutcome(error, operation: operation) { return outcome }
                logger.error("operation failed", metadata: ["operation": "\(operation)", "error": "\(error)"])
                return .refused(.internal, "internal error")
            }
        }
    }

    /// Attempts to learn a lost commit's outcome (about 10 s in all, backing off).
    static let unknownCommitRetries = 8

    static let outcomeUnknown = Outcome.refused(
        .busy, "the database connection was lost while committing; whether it was done is not known yet: "
            + "send the same request again (same trace) or QUERY it")

    /// The answer for a failure of the database itself (unreachable, or no connection free in
    /// time), or nil for any other error.
    func infrastructureOutcome(_ error: any Error, operation: String) -> Outcome? {
        if let error = error as? PGError, error.isConnectionFailure {
            unavailableLog.warning(logger, "database unavailable", metadata: ["operation": "\(operation)", "error": "\(error)"])
            return .refused(.unavailable, "the database cannot be reached; nothing was done")
        }
        if error is PGPool.Exhausted { return .refused(.busy, "the engine is busy; try again") }
        return nil
    }

    static func loadReference(_ connection: PGConnection) throws -> (ReferenceData, [String: InstitutionRecord]) {
        var catalog: [String: CatalogItem] = [:]
        let items = try connection.query("SELECT code, name, class, unit, price_limit, first_selfpay_bp FROM catalog_item")
        for row in 0..<items.rowCount {
            guard let itemClass = ItemClass(rawValue: try items.requireString(row, 2)) else { continue }
            let item = CatalogItem(code: try items.requireString(row, 0), name: try items.requireString(row, 1),
                                   itemClass: itemClass, unit: try items.requireString(row, 3),
                                   priceLimit: try items.requireInt64(row, 4), firstSelfPayBP: try items.requireInt64(row, 5))
            catalog[item.code] = item
        }
        var policies: [PolicyKey: Policy] = [:]
        let rows = try connection.query("""
            SELECT insurance, visit, level, deductible, deductible_scope, fund_ratio_bp, annual_ceiling, account_pays_full
            FROM policy
            """)
        for row in 0..<rows.rowCount {
            guard let insurance = InsuranceType(rawValue: try rows.requireString(row, 0)),
                  let visit = VisitType(rawValue: try rows.requireString(row, 1)),
                  let scope = DeductibleScope(rawValue: try rows.requireString(row, 4)) else { continue }
            let policy = Policy(insurance: insurance, visit: visit, level: try rows.requireInt(row, 2),
                                deductible: try rows.requireInt64(row, 3), deductibleScope: scope,
                                fundRatioBP: try rows.requireInt64(row, 5), annualCeiling: try rows.requireInt64(row, 6),
                                accountPaysFull: try rows.requireBool(row, 7))
            policies[policy.key] = policy
        }
        var institutions: [String: InstitutionRecord] = [:]
        let inst = try connection.query("SELECT code, name, kind, level FROM institution")
        for row in 0..<inst.rowCount {
            guard let kind = TerminalKind(rawValue: try inst.requireString(row, 2)) else { continue }
            let record = InstitutionRecord(code: try inst.requireString(row, 0), name: try inst.requireString(row, 1),
                                           kind: kind, level: try inst.requireInt(row, 3))
            institutions[record.code] = record
        }
        return (ReferenceData(catalog: catalog, policies: policies), institutions)
    }
}

/// A reference set once, after its owner finished initialising (for callbacks created in `init`).
final class LateBound<T: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private weak var stored: T?

    var value: T? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
