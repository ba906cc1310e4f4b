import Foundation
import MedsettleCore
import PGClient

/// A claim as a card-presenting verb sends it (PRICE, SETTLE).
public struct ClaimRequest: Sendable {
    public let credential: Credential
    public let lines: [ClaimLine]
    public let visit: VisitType
    public let useAccount: Bool

    public init(credential: Credential, lines: [ClaimLine], visit: VisitType, useAccount: Bool) {
        self.credential = credential
        self.lines = lines
        self.visit = visit
        self.useAccount = useAccount
    }
}

/// A settlement row as replies and queries need it.
struct SettlementRecord {
    let id: Int64
    let split: Split
    let balanceAfter: Fen
    let state: String

    var replyFields: [(String, String)] {
        [("settlement", WireID.settlement.encode(id))] + split.fields + [("balance", String(balanceAfter))]
    }
}

enum SettlementSQL {
    static let readAccumulator = PGStatement("read_accumulator", """
        SELECT deductible_met, fund_paid FROM accumulator WHERE person_id = $1 AND year = $2 AND visit = $3
        """)
    static let readAccumulatorByCard = PGStatement("read_accumulator_by_card", """
        SELECT deductible_met, fund_paid FROM accumulator
        WHERE person_id = (SELECT person_id FROM card WHERE card_no = $1) AND year = $2 AND visit = $3
        """)
    static let load = PGStatement("load_settlement", """
        SELECT id, total, selfpay_full, selfpay_first, inscope, deductible, fund, account, cash, balance_after, state
        FROM settlement WHERE id = $1
        """)
    static let queryTrace = PGStatement("query_trace", """
        SELECT t.verb, s.id, s.total, s.selfpay_full, s.selfpay_first, s.inscope, s.deductible, s.fund,
               s.account, s.cash, s.balance_after, s.state
        FROM trace t LEFT JOIN settlement s ON s.id = t.settlement_id
        WHERE t.terminal = $1 AND t.trace = $2
        """)
}

extension Store {
    /// PRICE (预结算): prices a claim with the holder's current accumulators and balance, commits
    /// nothing but the PIN bookkeeping.
    public func price(_ claim: ClaimRequest, by context: TerminalContext) -> Outcome {
        if let refusal = checkLines(claim.lines) { return refusal }
        return perform("PRICE") { connection in
            try connection.transaction {
                switch try priceClaim(connection, claim, by: context) {
                case .failure(let outcome): return outcome
                case .success(let (_, priced)): return .ok(priced.split.fields)
                }
            }
        }
    }

    /// SETTLE (结算): prices and, in one transaction, debits the account, adds to the year's
    /// accumulators, records the settlement with its lines and binds the trace.
    ///
    /// The claim joins the settlement queue; `completion` runs once the claim's transaction has
    /// committed (or the claim was refused). Settlements of different
    /// cardholders that wait together share one transaction (`SettlementBatch.swift`).
    /// - Parameter replies: where `completion` runs (by default on a settlement worker's thread).
    public func settle(_ claim: ClaimRequest, traced request: TracedRequest, by context: TerminalContext,
                       replies: (any SettleReplyQueue)? = nil, completion: @escaping @Sendable (Outcome) -> Void) {
        let job = SettleJob(claim: claim, traced: request, context: context, complete: completion, replies: replies)
        if !settleQueue.submit(job) {
            completion(.refused(.busy, "too many settlements are waiting; try again"))
        }
    }

    /// SETTLE, waiting for the answer on the calling thread (never a settlement worker).
    public func settle(_ claim: ClaimRequest, traced request: TracedRequest, by context: TerminalContext) -> Outcome {
        let answer = AnswerSlot()
        settle(claim, traced: request, by: context) { answer.fill($0) }
        return answer.wait()
    }

    /// One settlement in its own transaction, in two round trips: one pipeline reads the trace
    /// record, locks the holder and reads the card and the year's accumulators (BEGIN travels
    /// with it); a second one writes everything and commits. Batches fall back to it.
    /// - Parameter outcomeUnknown: this retries a batch whose commit was lost (see `perform`).
    func settleAlone(_ claim: ClaimRequest, traced request: TracedRequest, by context: TerminalContext,
                     outcomeUnknown: Bool = false) -> Outcome {
        if let refusal = checkLines(claim.lines) { return refusal }
        let cardNo: String
        var token: QRTokens.Verified?
        switch claim.credential {
        case .card(let number, _):
            cardNo = number
        case .qr(let qr):
            switch qrTokens.verify(qr, now: clock.now()) {
            case .success(let verified):
                cardNo = verified.cardNo
                token = verified
            case .failure:
                // A repeat is answered even if its token has expired since; otherwise the token's error.
                return perform("SETTLE", traced: true, outcomeUnknown: outcomeUnknown) { connection in
                    try connection.transaction {
                        if let prior = try priorOutcome(connection, request, by: context) { return prior }
                        switch try present(connection, claim.credential, by: context) {
                        case .failure(let outcome): return outcome
                        case .success: return .refused(.internal, "a refused QR token was accepted")
                        }
                    }
                }
            }
        }
        return perform("SETTLE", traced: true, outcomeUnknown: outcomeUnknown) { connection in
            try connection.transaction {
                let date = businessDate()
                var reads = [Self.traceLookup(request, by: context)] + Self.lockCardholderQueries(cardNo)
                reads.append(.prepared(SettlementSQL.readAccumulatorByCard, [cardNo, date.year, claim.visit.rawValue]))
                if let token { reads.append(.prepared(CardholderSQL.qrUsed, [PGBytes(token.tokenID)])) }
                reads.append(.prepared(WriteSetSQL.allocateIDs, [1]))
                let read = try connection.pipeline(reads)
                if let prior = try priorOutcome(from: read[0], connection, request) { return prior }
                guard var holder = try Self.cardholder(person: read[1], card: read[2], cardNo: cardNo) else {
                    return token == nil ? .refused(.cardNotFound, "no such card") : .refused(.qrInvalid, "QR code names no card")
                }
                let id = try read[reads.count - 1].requireInt64(0, 0)
                var writes = WriteSet()
                switch claim.credential {
                case .card(_, let pin):
                    let matches = secrets.pinMatches(pin, salt: holder.pinSalt, cardNo: cardNo, hash: holder.pinHash)
                    let decision = CardRules.present(holder.card, pinMatches: matches)
                    writes.record(decision, holder: holder, by: context)
                    if let refusal = Self.refusal(of: decision) {
                        try writes.commit(connection, date: date)
                        return refusal
                    }
                case .qr:
                    if let refusal = CardRules.presentQR(holder.card).refusal { return Self.outcome(for: refusal) }
                    if read[4].rowCount > 0 { return .refused(.qrUsed, "QR code has already been used") }
                    holder.qr = token
                }
                let acc = read[3]
                let accumulated = acc.rowCount == 1 ? (try acc.requireInt64(0, 0), try acc.requireInt64(0, 1)) : (0, 0)
                let priced: PricedClaim
                switch price(claim, holder: holder, deductibleMet: accumulated.0, fundPaid: accumulated.1, by: context) {
                case .failure(let outcome):
                    try writes.commit(connection, date: date)
                    return outcome
                case .success(let value): priced = value
                }
                writes.settle(id: id, priced, holder: holder, visit: claim.visit, traced: request, by: context)
                try writes.commit(connection, date: date)
                return .ok(SettlementRecord(id: id, split: priced.split, balanceAfter: priced.balanceAfter, state: "settled").replyFields)
            }
        }
    }

    /// QUERY: what became of a SETTLE (or DISCHARGE) trace of this terminal.
    public func query(trace: String, by context: TerminalContext) -> Outcome {
        perform("QUERY") { connection in
            let row = try connection.query(SettlementSQL.queryTrace, [context.terminal, trace])
            guard row.rowCount == 1 else { return .ok([("state", "unknown")]) }
            if try row.requireString(0, 0) == "REVERSE" { return .ok([("state", "reversed")]) }
            guard let id = try row.int64(0, 1) else {
                return .refused(.badRequest, "trace \(trace) names a \(try row.requireString(0, 0)), not a settlement")
            }
            let record = try Self.settlementRecord(row, offset: 1)
            return .ok([("state", record.state), ("settlement", WireID.settlement.encode(id))] + record.split.fields)
        }
    }

    func loadSettlement(_ connection: PGConnection, id: Int64) throws -> SettlementRecord? {
        let row = try connection.query(SettlementSQL.load, [id])
        guard row.rowCount == 1 else { return nil }
        return try Self.settlementRecord(row, offset: 0)
    }

    /// Reads id, the 8 split figures, balance_after and state starting at column `offset`.
    static func settlementRecord(_ row: PGResult, offset: Int) throws -> SettlementRecord {
        let f = { (i: Int) throws -> Fen in try row.requireInt64(0, offset + i) }
        let split = Split(total: try f(1), selfpayFull: try f(2), selfpayFirst: try f(3), inscope: try f(4),
                          deductible: try f(5), fund: try f(6), account: try f(7), cash: try f(8))
        return SettlementRecord(id: try f(0), split: split, balanceAfter: try f(9),
                                state: try row.requireString(0, offset + 10))
    }

    /// `UNKNOWN_ITEM` for the first line whose code is not in the catalog: refused before the
    /// database is touched, so such a claim changes nothing.
    func checkLines(_ lines: [ClaimLine]) -> Outcome? {
        for line in lines where reference.catalog[line.code] == nil {
            return .refused(.unknownItem, "item \(line.code) is not in the catalog", [("item", line.code)])
        }
        return nil
    }

    /// Presents the credential and prices the claim with the holder's locked balance and
    /// accumulators. Refusals come back as outcomes (the transaction still commits PIN counts).
    func priceClaim(_ connection: PGConnection, _ claim: ClaimRequest, by context: TerminalContext) throws -> Result<(Cardholder, PricedClaim), Outcome> {
        let holder: Cardholder
        switch try present(connection, claim.credential, by: context) {
        case .failure(let outcome): return .failure(outcome)
        case .success(let value): holder = value
        }
        let year = businessDate().year
        let acc = try connection.query(SettlementSQL.readAccumulator, [holder.personID, year, claim.visit.rawValue])
        let met: Fen = acc.rowCount == 1 ? try acc.requireInt64(0, 0) : 0
        let paid: Fen = acc.rowCount == 1 ? try acc.requireInt64(0, 1) : 0
        return price(claim, holder: holder, deductibleMet: met, fundPaid: paid, by: context).map { (holder, $0) }
    }

    /// Prices a claim for a holder whose balance and accumulators were read under the lock.
    func price(_ claim: ClaimRequest, holder: Cardholder, deductibleMet: Fen, fundPaid: Fen,
               by context: TerminalContext) -> Result<PricedClaim, Outcome> {
        guard let policy = reference.policy(for: holder.insurance, visit: claim.visit, level: context.level) else {
            logger.error("no policy row", metadata: ["insurance": "\(holder.insurance)", "visit": "\(claim.visit)", "level": "\(context.level)"])
            return .failure(.refused(.internal, "no insurance policy for this claim"))
        }
        let input = PricingInput(lines: claim.lines, policy: policy, deductibleMet: deductibleMet, fundPaidThisYear: fundPaid,
                                 balance: holder.hasAccount ? holder.balance : 0, useAccount: claim.useAccount)
        switch Pricing.price(input, catalog: reference.catalog) {
        case .success(let priced): return .success(priced)
        case .failure(.unknownItem(let code)):
            return .failure(.refused(.unknownItem, "item \(code) is not in the catalog", [("item", code)]))
        case .failure(let error):
            return .failure(.refused(error.errorCode, "claim amounts are out of range"))
        }
    }
}

/// Where a settlement worker leaves an answer for a thread that waits for it.
private final class AnswerSlot: @unchecked Sendable {
    private let condition = NSCondition()
    private var outcome: Outcome?

    func fill(_ value: Outcome) {
        condition.lock()
        outcome = value
        condition.signal()
        condition.unlock()
    }

    func wait() -> Outcome {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        return outcome!
    }
}
