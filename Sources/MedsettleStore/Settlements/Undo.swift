import MedsettleCore
import PGClient

/// The answer of CANCEL.
public struct Cancelled: Sendable, Equatable {
    public let settlement: Int64
    /// What went back to the account (0 when the settlement paid nothing from it).
    public let refund: Fen
    public let balance: Fen
    /// What went back to the family payer's account (RULES.md §9), or was paid out to the payer
    /// when their insurance had ended.
    public let aidRefund: Fen
    public let isRepeat: Bool
}

/// The answer of REVERSE.
public enum Reversal: String, Sendable, Equatable {
    /// The original had been settled and is now undone.
    case undone
    /// The original never arrived; it is refused with `REVERSED` if it comes late.
    case blocked
}

/// A settlement as undoing it needs it.
struct UndoTarget: PGRowDecodable {
    let institution: String
    let personID: Int64
    let state: SettlementState
    let admission: Int64?
    /// The family payer whose account paid the settlement's `aid`.
    let aidPayer: Int64?

    init(_ row: inout PGRow) {
        institution = row("institution")
        personID = row("person_id")
        state = row("state")
        admission = row("admission_id")
        aidPayer = row("aid_payer")
    }

    /// The persons whose accounts the undo credits: the holder, and the payer of any aid.
    var persons: [Int64] { [personID] + (aidPayer.map { [$0] } ?? []) }
}

struct Undone: PGRowDecodable {
    let refund: Fen
    let balance: Fen
    let aidRefund: Fen
    init(_ row: inout PGRow) {
        refund = row("account")
        balance = row("balance")
        aidRefund = row("aid")
    }
}

/// Cancel (撤销) and reversal (冲正), RULES.md §5: both undo a settlement — the account is
/// credited back, the accumulators of the settlement's own year (deductible, pool, and the
/// layers' burden and payments, RULES.md §8) are reduced by what it added, a discharge's
/// admission is reopened — in one transaction with the holder's row locked.
enum UndoSQL {
    static let settlement = PGStatement<UndoTarget, Int64>("undo_read_settlement", """
        SELECT institution, person_id, state, admission_id, aid_payer FROM settlement WHERE id = $1
        """)
    /// Undoes a settled settlement: the account back (to the payout once the insurance has ended),
    /// and the family payer's aid back the same way, the accumulators of its year down, its
    /// admission open again, its traceability codes released (they may be sold again).
    static let undo = PGStatement<Undone, Int64, String>("undo_settlement", """
        WITH s AS (
            UPDATE settlement SET state = $2, undone_at = now() WHERE id = $1 AND state = 'settled'
            RETURNING person_id, account, aid, aid_payer, deductible, fund - illness - assist AS pool, illness, assist,
                      CASE WHEN visit = 'pharmacy' THEN 0 ELSE inscope - (fund - illness - assist) END AS burden, visit,
                      extract(year FROM business_date)::smallint AS year, admission_id
        ), p AS (
            UPDATE person
            SET balance = CASE WHEN person.insured THEN person.balance + s.account ELSE person.balance END,
                payout = CASE WHEN person.insured THEN person.payout ELSE coalesce(person.payout, 0) + s.account END,
                updated_at = now()
            FROM s WHERE person.id = s.person_id
            RETURNING person.balance
        ), payer AS (
            UPDATE person
            SET balance = CASE WHEN person.insured THEN person.balance + s.aid ELSE person.balance END,
                payout = CASE WHEN person.insured THEN person.payout ELSE coalesce(person.payout, 0) + s.aid END,
                updated_at = now()
            FROM s WHERE person.id = s.aid_payer AND s.aid > 0
        ), acc AS (
            UPDATE accumulator
            SET deductible_met = accumulator.deductible_met - s.deductible, fund_paid = accumulator.fund_paid - s.pool,
                burden = accumulator.burden - s.burden, illness_paid = accumulator.illness_paid - s.illness,
                assist_paid = accumulator.assist_paid - s.assist
            FROM s WHERE accumulator.person_id = s.person_id AND accumulator.year = s.year AND accumulator.visit = s.visit
        ), adm AS (
            UPDATE admission SET status = 'open', closed_at = NULL, deductible_met = 0
            FROM s WHERE admission.id = s.admission_id
        ), codes AS (
            UPDATE trace_code SET released_at = now()
            FROM s WHERE trace_code.settlement_id = $1 AND trace_code.released_at IS NULL
        )
        SELECT s.account, p.balance, s.aid FROM s, p
        """)
    static let insertBlock = PGStatement<PGNoRows, String, String, PGBytes>("insert_reversal_block", """
        INSERT INTO trace (terminal, trace, verb, fingerprint, reply) VALUES ($1, $2, 'REVERSE', $3, 'state=blocked')
        """)
}

extension Settlements {
    /// CANCEL (撤销): undoes a settlement of this institution, at most once; idempotent by trace.
    public func cancel(settlement wireID: String, traced request: TracedRequest, by context: TerminalContext) -> Answer<Cancelled> {
        runner.transaction("CANCEL", traced: request, by: context) { transaction in
            if let record = try transaction.traceRecord(request, by: context) {
                return record.repeatedAnswer(for: request).map { Cancelled($0, isRepeat: true) }
            }
            guard let id = WireID.settlement.decode(wireID), let target = try transaction.query(UndoSQL.settlement(id)).first else {
                return .failure(.noSuchSettlement)
            }
            guard target.institution == context.institution else { return .failure(.otherInstitutionsSettlement) }
            let undone: Undone
            switch try undo(id, of: target, transaction, as: .cancelled) {
            case .failure(let refusal): return .failure(refusal)
            case .success(nil): return .failure(Refusal(.alreadyCancelled, "the settlement has already been cancelled or reversed"))
            case .success(let value?): undone = value
            }
            let cancelled = Cancelled(settlement: id, refund: undone.refund, balance: undone.balance, aidRefund: undone.aidRefund,
                                      isRepeat: false)
            try transaction.recordTrace(request, by: context, answer: cancelled.stored)
            return try transaction.commit(answering: .success(cancelled))
        }
    }

    /// REVERSE (冲正): the terminal got no answer to a SETTLE or DISCHARGE. A settled original is
    /// undone (`state=undone`); an original that never arrived is blocked, so that it is refused
    /// with `REVERSED` if it comes late (`state=blocked`). Repeats answer the same.
    public func reverse(trace: String, by context: TerminalContext) -> Answer<Reversal> {
        runner.transaction("REVERSE") { transaction in
            guard let record = try transaction.query(TraceSQL.lookup(PGArray([context.terminal]), PGArray([trace]))).first else {
                // If the original commits meanwhile, this insert meets its key and the whole
                // transaction is retried, then finds the settlement: exactly one outcome.
                _ = try transaction.query(UndoSQL.insertBlock(context.terminal, trace, PGBytes(Array(repeating: 0, count: 32))))
                return try transaction.commit(answering: .success(.blocked))
            }
            if record.verb == "REVERSE" { return .success(.blocked) }
            guard reversibleVerbs.contains(record.verb), let settlement = record.settlement,
                  let target = try transaction.query(UndoSQL.settlement(settlement.id)).first else {
                return .failure(Refusal(.badRequest, "trace \(trace) names a \(record.verb), which cannot be reversed"))
            }
            switch try undo(settlement.id, of: target, transaction, as: .reversed) {
            case .failure(let refusal): return .failure(refusal)
            case .success: return try transaction.commit(answering: .success(.undone))
            }
        }
    }

    /// Undoes settlement `id` under its holder's lock (and its family payer's, in person-id order);
    /// nil when it was already undone.
    private func undo(_ id: Int64, of target: UndoTarget, _ transaction: borrowing PGTransaction,
                      as state: SettlementState) throws -> Answer<Undone?> {
        // The state is read again after the lock: a concurrent cancel or reversal has committed by now.
        let (_, current, openAdmissions) = try transaction.pipeline(
            CardholderSQL.lockPersons(PGArray(target.persons)), UndoSQL.settlement(id), HospitalStaysSQL.openAdmissions(target.personID))
        guard current.first?.state == .settled else { return .success(nil) }
        if target.admission != nil, openAdmissions.first?.count ?? 0 > 0 {
            return .failure(Refusal(.admissionOpen, "the patient has another open admission; it cannot be reopened"))
        }
        guard let undone = try transaction.query(UndoSQL.undo(id, state.rawValue)).first else {
            preconditionFailure("a settled settlement, locked, is undone")
        }
        return .success(undone)
    }
}

extension Cancelled {
    init(_ stored: StoredAnswer, isRepeat: Bool) {
        guard let id = WireID.settlement.decode(stored["settlement"]) else { preconditionFailure("a stored settlement id") }
        // Answers stored before family mutual aid carry no aid_refund: nothing went to a payer.
        self.init(settlement: id, refund: stored.int64("refund"), balance: stored.int64("balance"),
                  aidRefund: stored.optionalInt64("aid_refund") ?? 0, isRepeat: isRepeat)
    }

    var stored: StoredAnswer {
        StoredAnswer([("settlement", WireID.settlement.encode(settlement)), ("refund", String(refund)), ("balance", String(balance)),
                      ("aid_refund", String(aidRefund))])
    }
}
