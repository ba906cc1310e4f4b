import CoreMetrics
import MedsettleCore
import PGClient

/// Group commit: the SETTLEs waiting together are settled in rounds, each one transaction, with
/// set-based statements.
///
/// A round costs two round trips and one commit however many claims it holds: one pipeline (with
/// BEGIN) locks every holder in person-id order (so two rounds never deadlock) with their family
/// payers, reads their cards, bindings and accumulators and used QR tokens (and settlement ids,
/// when the front's block of them has run out: `SettlementIDs`); each claim is then decided by
/// `ClaimDecider.decide` (the decision PRICE and DISCHARGE take too), and a second pipeline writes
/// every row with one statement (`WriteSet`) and commits. A repeat is answered from its trace's
/// record: the first attempt finds one by the trace's primary key, or by looking up the traces of
/// the claims it refused (`settleRound(_:_:date:lookUpTraces:ids:)`). A lone SETTLE is a round of
/// one: there is no second path.
///
/// Isolation between cardholders is the same as for one settlement: each holder is locked before
/// their card is read, and a round carries at most one claim per card, trace, person (as holder
/// or as family payer) and traceability code. A claim that would break that — a twin trace, a second claim on a card or
/// person already in the round, a code another claim of the round presents — waits for a later
/// round (which then finds the code sold if the first claim settled). If a round of several fails for any reason but the database itself,
/// nothing of it is kept and each of its claims runs as a round of its own, so one bad claim never
/// costs another its answer.
struct SettlementMetrics: Sendable {
    /// Settlements per shared transaction.
    let roundSizes: Recorder
    /// Claims settled again alone after their round failed.
    let retriedAlone: Counter

    init(factory: any MetricsFactory) {
        roundSizes = Recorder(label: "medsettle_settle_batch_size", factory: factory)
        retriedAlone = Counter(label: "medsettle_settlements_alone_total", factory: factory)
    }
}

/// One SETTLE in a round: its job and its credential as far as it resolves without rows.
private struct RoundMember {
    let job: SettleJob
    let claim: ClaimMember
    /// Its place among the jobs taken together: a claim that waits keeps it, so a member deferred
    /// behind its payer never overtakes the payer's own later claim.
    let arrival: Int
}

/// (terminal, trace): one traced request's identity.
private struct TraceKey: Hashable {
    let terminal: String
    let trace: String
}

extension Settlements {
    /// Settles jobs taken from the queue in rounds and completes every one of them, each round's
    /// answers as soon as it has committed.
    func settle(_ jobs: [SettleJob]) {
        let now = clock.now()
        var pending = jobs.enumerated().map { arrival, job in
            RoundMember(job: job, claim: ClaimMember(claim: job.claim, context: job.context, now: now, tokens: decider.presenter.qrTokens),
                        arrival: arrival)
        }
        while !pending.isEmpty {
            var round: [RoundMember] = []
            var later: [RoundMember] = []
            var traces = Set<TraceKey>()
            var cards = Set<String>()
            var codes = Set<TraceCode>()
            for member in pending {
                let trace = TraceKey(terminal: member.job.context.terminal, trace: member.job.traced.trace)
                let memberCodes = member.job.claim.lines.flatMap(\.traceCodes)
                guard !traces.contains(trace), !(member.claim.cardNo.map(cards.contains) ?? false),
                      codes.isDisjoint(with: memberCodes) else {
                    later.append(member)
                    continue
                }
                traces.insert(trace)
                if let card = member.claim.cardNo { cards.insert(card) }
                codes.formUnion(memberCodes)
                round.append(member)
            }
            let (answers, deferred) = settleRound(round)
            answers.deliver()
            // Claims that wait go on in the order they came, whichever reason held them back.
            pending = (deferred + later).sorted { $0.arrival < $1.arrival }
        }
    }

    /// One round; answers for its members, and those that must wait for a later one (a second
    /// card of a person already in it). The first member is never deferred, so rounds progress.
    private func settleRound(_ round: [RoundMember]) -> (answers: [(SettleJob, Answer<Settled>)], deferred: [RoundMember]) {
        metrics.roundSizes.record(round.count)
        let span = tracing?.start(carrying: round.compactMap(\.job.trace))
        let date = BusinessDate(unixSeconds: clock.now())
        // The first attempt does not look the traces up (see `settleRound(_:_:date:lookUpTraces:ids:)`);
        // one after a conflict does, and so finds the twin that caused it.
        var attempts = 0
        // Drawn once: no settlement id is lost to an attempt that conflicts.
        var drawn: [Int64]?
        let result = runner.transaction("SETTLE", resolve: { connection, verdicts in
            // The settlements the round decided on exist if and only if it committed.
            let ids = verdicts.compactMap { verdict -> Int64? in
                if case .answer(.success(let settled)) = verdict, !settled.isRepeat { return settled.settlement.id }
                return nil
            }
            // Without one the round wrote only PIN bookkeeping, which leaves no trace to find.
            guard !ids.isEmpty else { return nil }
            return try connection.query(SettlementRoundSQL.existing(PGArray(ids))).first?.count ?? 0 > 0
        }) { (transaction: consuming PGTransaction) -> Answer<[RoundVerdict]> in
            attempts += 1
            return try settleRound(round, transaction, date: date, lookUpTraces: attempts > 1, ids: &drawn)
        }
        span?.end(claims: round.count, result)
        switch result {
        case .success(let verdicts):
            var answers: [(SettleJob, Answer<Settled>)] = []
            var deferred: [RoundMember] = []
            for (member, verdict) in zip(round, verdicts) {
                switch verdict {
                case .answer(let answer): answers.append((member.job, answer))
                case .later: deferred.append(member)
                }
            }
            return (answers, deferred)
        case .failure(let refusal) where refusal.code == .internal && round.count > 1:
            // Nothing of the round was kept: settle each claim on its own.
            metrics.retriedAlone.increment(by: Int64(round.count))
            var answers: [(SettleJob, Answer<Settled>)] = []
            var deferred: [RoundMember] = []
            for member in round {
                let alone = settleRound([member])
                answers += alone.answers
                deferred += alone.deferred
            }
            return (answers, deferred)
        case .failure(let refusal):
            return (round.map { ($0.job, .failure(refusal)) }, [])
        }
    }

    /// One round's transaction. Without `lookUpTraces` (a round's first attempt) the traces are
    /// not looked up before the claims are decided: a repeat is rare, and the trace's primary key
    /// finds one anyway — a repeat decided as a success fails the write, and the runner's next
    /// attempt looks them up. A repeat is answered from its record, never decided anew, so when a
    /// claim is decided as a refusal (a card locked since, a PIN that no longer verifies), the
    /// traces of every claim not decided as a success are looked up before anything is written,
    /// and if one is bound the round is decided again with its record. (A success stays a success
    /// when repeats leave the round's persons free; a claim that waited may now be decided, and
    /// its trace was among those looked up.)
    /// `drawn`: the settlement ids an earlier attempt drew, or nil; set to this attempt's.
    private func settleRound(_ round: [RoundMember], _ transaction: consuming PGTransaction, date: BusinessDate,
                             lookUpTraces: Bool, ids drawn: inout [Int64]?) throws -> Answer<[RoundVerdict]> {
        let cards = PGArray(round.compactMap(\.claim.cardNo))
        let draw = drawn == nil ? ids.draw(round.count) : nil
        let (traceRecords, holders, claimants, used, sold, allocated) = try transaction.pipeline(
            lookUpTraces ? Self.traceLookup(of: round) : .noRows,
            CardholderSQL.lockClaimants(cards), CardholderSQL.readClaimants(cards, Int64(date.year)),
            CardholderSQL.qrUsed(tokens: round.flatMap(\.claim.tokens)),
            TraceCodeSQL.sold(in: round.flatMap(\.job.claim.lines)),
            draw?.query ?? .noRows)
        let ids = drawn ?? draw!.ids(from: allocated)
        drawn = ids
        precondition(ids.count == round.count, "one settlement id per claim")
        let rows = ClaimRows(holders, claimants, used, sold)
        var records: [Int: TraceRecord] = [:]
        for record in traceRecords { records[record.position - 1] = record }
        var (writes, verdicts) = decide(round, rows, records: records, ids: ids, date: date)
        let refused = verdicts.contains { if case .answer(.failure) = $0 { true } else { false } }
        if !lookUpTraces && refused {
            // Every claim not decided as a success: one that waited behind a refused repeat (its
            // payer's) is decided when that repeat is answered from its record instead.
            let unsettled = verdicts.indices.filter { if case .answer(.success) = verdicts[$0] { false } else { true } }
            for record in try transaction.query(Self.traceLookup(of: unsettled.map { round[$0] })) {
                records[unsettled[record.position - 1]] = record
            }
            if !records.isEmpty { (writes, verdicts) = decide(round, rows, records: records, ids: ids, date: date) }
        }
        return try transaction.commit(writes, alone: true, answering: .success(verdicts))
    }

    private static func traceLookup(of members: [RoundMember]) -> PGBound<TraceRecord> {
        TraceSQL.lookup(PGArray(members.map(\.job.context.terminal)), PGArray(members.map(\.job.traced.trace)))
    }

    /// Each claim's verdict, and what the round writes: a claim whose trace is bound (`records`, by
    /// its place in the round) is answered from the record.
    private func decide(_ round: [RoundMember], _ rows: ClaimRows, records: [Int: TraceRecord], ids: [Int64],
                        date: BusinessDate) -> (WriteSet, [RoundVerdict]) {
        var writes = WriteSet(date: date)
        var persons = Set<Int64>()
        var verdicts: [RoundVerdict] = []
        verdicts.reserveCapacity(round.count)
        for (index, member) in round.enumerated() {
            let job = member.job
            if let record = records[index] {
                verdicts.append(.answer(record.repeatedSettlement(for: job.traced)))
                continue
            }
            // Each person's balance is read once and moved at most once per round: a claim whose
            // holder or family payer is already a holder or payer of this round waits.
            if let personID = member.claim.cardNo.flatMap({ rows.holders[$0]?.personID }) {
                let involved = [personID] + (rows.payers[personID].map { [$0.id] } ?? [])
                guard persons.isDisjoint(with: involved) else {
                    verdicts.append(.later)
                    continue
                }
                persons.formUnion(involved)
            }
            switch decider.decide(member.claim, rows, writes: &writes) {
            case .failure(let refusal):
                verdicts.append(.answer(.failure(refusal)))
            case .success(let priced):
                writes.settle(id: ids[index], priced, visit: job.claim.visit, traced: job.traced,
                              by: job.context)
                let record = SettlementRecord(id: ids[index], split: priced.claim.split, balanceAfter: priced.claim.balanceAfter,
                                              state: .settled)
                verdicts.append(.answer(.success(Settled(settlement: record, isRepeat: false))))
            }
        }
        return (writes, verdicts)
    }
}

/// What a round decided for one of its claims: an answer, or "wait for a later round".
enum RoundVerdict: Sendable {
    case answer(Answer<Settled>)
    case later
}

enum SettlementRoundSQL {
    /// How many of the given settlements exist (to learn whether a round whose commit was lost
    /// committed: all of them or none).
    static let existing = PGStatement<PGCount, PGArray<Int64>>("settlements_existing", """
        SELECT count(*) AS count FROM settlement WHERE id = ANY($1::bigint[])
        """)
}
