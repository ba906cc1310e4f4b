import Logging
import MedsettleCore
import PGClient
import Tracing

/// A claim as a card-presenting verb sends it (PRICE, SETTLE).
public struct ClaimRequest: Sendable {
    public let credential: Credential
    public let lines: [ClaimLine]
    public let visit: VisitType
    public let useAccount: Bool
    /// The lines' classification when they were classified before (a discharge's fee lines, by
    /// the catalog of their upload day); nil: by the catalog in force.
    let classified: [ItemClassification]?

    public init(credential: Credential, lines: [ClaimLine], visit: VisitType, useAccount: Bool) {
        self.init(credential: credential, lines: lines, visit: visit, useAccount: useAccount, classified: nil)
    }

    init(credential: Credential, lines: [ClaimLine], visit: VisitType, useAccount: Bool, classified: [ItemClassification]?) {
        self.credential = credential
        self.lines = lines
        self.visit = visit
        self.useAccount = useAccount
        self.classified = classified
    }

    func terms(at context: TerminalContext) -> ClaimTerms {
        ClaimTerms(lines: lines, visit: visit, level: context.level, useAccount: useAccount, classified: classified)
    }
}

/// The answer of SETTLE and DISCHARGE: the settlement, and whether this was a repeat of a request
/// already settled (`repeat=1`).
public struct Settled: Sendable, Equatable {
    public let settlement: SettlementRecord
    public let isRepeat: Bool
}

/// The answer of QUERY: what became of a trace.
public enum TraceStatus: Sendable, Equatable {
    case unknown
    case reversed
    case settlement(SettlementRecord)
}

/// A person's accumulators of one year and visit type (`accumulator`).
struct AccumulatorRow: PGRowDecodable {
    let personID: Int64
    let visit: VisitType
    let year: Accumulators

    init(personID: Int64, visit: VisitType, year: Accumulators) {
        self.personID = personID
        self.visit = visit
        self.year = year
    }

    init(_ row: inout PGRow) {
        personID = row("person_id")
        visit = row("visit")
        year = Accumulators(deductibleMet: row("deductible_met"), fundPaid: row("fund_paid"), burden: row("burden"),
                            illnessPaid: row("illness_paid"), assistPaid: row("assist_paid"))
    }
}

enum AccumulatorSQL {
    /// One person's accumulators of a year (every visit type).
    static let ofPerson = PGStatement<AccumulatorRow, Int64, Int64>("accumulators_of_person", """
        SELECT person_id, visit, deductible_met, fund_paid, burden, illness_paid, assist_paid FROM accumulator
        WHERE person_id = $1 AND year = $2
        """)
}

/// The year's accumulators by person and visit type.
struct YearAccumulators {
    private var byPerson: [Int64: [VisitType: Accumulators]] = [:]

    init(_ rows: [AccumulatorRow]) {
        for row in rows { byPerson[row.personID, default: [:]][row.visit] = row.year }
    }

    subscript(person: Int64, visit: VisitType) -> Accumulators {
        byPerson[person]?[visit] ?? Accumulators()
    }

    /// The person's year as the layers after the basic fund count it: outpatient and inpatient.
    func layers(of person: Int64) -> LayerYear {
        LayerYear([self[person, .outpatient], self[person, .inpatient]])
    }
}

/// Pharmacy and outpatient claims (RULES.md §4–§5): PRICE, SETTLE (alone or many cardholders in
/// one transaction), QUERY.
public final class Settlements: Sendable {
    let runner: TransactionRunner
    let decider: ClaimDecider
    let clock: any Clock
    private let queue: SettleQueue
    let metrics: SettlementMetrics
    /// A span per round; nil: rounds are not traced.
    let tracing: RoundTracing?
    /// The rounds' settlement ids, a block at a time.
    let ids: SettlementIDs

    init(runner: TransactionRunner, decider: ClaimDecider, clock: any Clock, ids: SettlementIDs, batching: SettleBatching,
         metrics: SettlementMetrics, tracing: RoundTracing? = nil) {
        self.runner = runner
        self.ids = ids
        self.tracing = tracing
        self.decider = decider
        self.clock = clock
        self.metrics = metrics
        let rounds = LateBound<Settlements>()
        queue = SettleQueue(limits: batching) { jobs in
            guard let settlements = rounds.value else {
                for job in jobs { job.complete(.failure(.shuttingDown)) }
                return
            }
            settlements.settle(jobs)
        }
        rounds.value = self
    }

    /// Stops the settlement workers after they have answered every queued SETTLE.
    func close() async { await queue.close() }

    /// PRICE (预结算): prices a claim with the holder's current accumulators and balance; commits
    /// nothing but the PIN bookkeeping. Sold traceability codes are refused as SETTLE refuses
    /// them; PRICE binds none.
    public func price(_ claim: ClaimRequest, by context: TerminalContext) -> Answer<Split> {
        let now = clock.now()
        let date = BusinessDate(unixSeconds: now)
        let member = ClaimMember(claim: claim, context: context, now: now, tokens: decider.presenter.qrTokens)
        return runner.transaction("PRICE") { transaction in
            let cards = PGArray(member.cardNo.map { [$0] } ?? [])
            let (holders, claimants, used, sold) = try transaction.pipeline(
                CardholderSQL.lockClaimants(cards), CardholderSQL.readClaimants(cards, Int64(date.year)),
                CardholderSQL.qrUsed(tokens: member.tokens), TraceCodeSQL.sold(in: claim.lines))
            let rows = ClaimRows(holders, claimants, used, sold)
            var writes = WriteSet(date: date)
            let priced = decider.decide(member, rows, writes: &writes)
            return try transaction.commit(writes, alone: true, answering: priced.map(\.claim.split))
        }
    }

    /// SETTLE (结算): prices and, in one transaction, debits the account, adds to the year's
    /// accumulators, records the settlement with its lines and binds the trace.
    ///
    /// The claim joins the settlement queue; `completion` runs once its transaction has committed
    /// (or the claim was refused). Settlements of different cardholders that wait together share
    /// one transaction (`SettlementRounds.swift`).
    /// - Parameter replies: where `completion` runs (by default on a settlement worker's thread).
    /// - Parameter trace: the request's span context, when it is traced: the span of the round
    ///   that carries the claim links to it.
    public func settle(_ claim: ClaimRequest, traced request: TracedRequest, by context: TerminalContext,
                       replies: (any SettleReplyQueue)? = nil, trace: ServiceContext? = nil,
                       completion: @escaping @Sendable (Answer<Settled>) -> Void) {
        let job = SettleJob(claim: claim, traced: request, context: context, complete: completion, replies: replies, trace: trace)
        if !queue.submit(job) {
            completion(.failure(Refusal(.busy, "too many settlements are waiting; try again")))
        }
    }

    /// QUERY: what became of a SETTLE (or DISCHARGE) trace of this terminal.
    public func query(trace: String, by context: TerminalContext) -> Answer<TraceStatus> {
        runner.read("QUERY") { connection in
            guard let record = try connection.query(TraceSQL.lookup(PGArray([context.terminal]), PGArray([trace]))).first else {
                return .success(.unknown)
            }
            if record.verb == "REVERSE" { return .success(.reversed) }
            guard let settlement = record.settlement else {
                return .failure(Refusal(.badRequest, "trace \(trace) names a \(record.verb), not a settlement"))
            }
            return .success(.settlement(settlement))
        }
    }
}

