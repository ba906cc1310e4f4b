import MedsettleCore
import PGClient

/// Cancel (撤销) and reversal (冲正), RULES.md §5: both undo a settlement — the account is
/// credited back, the accumulators of the settlement's own year are reduced, a discharge's
/// admission is reopened — in one transaction with the holder's row locked.
enum UndoSQL {
    static let settlement = PGStatement("undo_read_settlement", """
        SELECT institution, person_id, state, admission_id FROM settlement WHERE id = $1
        """)
    static let settlementState = PGStatement("undo_settlement_state", "SELECT state FROM settlement WHERE id = $1")
    /// Locks a person by row id; the columns are what pricing a hospital stay needs.
    static let lockPerson = PGStatement("lock_person_by_id", """
        SELECT insurance, has_account, balance FROM person WHERE id = $1 FOR UPDATE
        """)
    static let otherOpenAdmission = PGStatement("other_open_admission", """
        SELECT 1 FROM admission WHERE person_id = $1 AND status = 'open'
        """)
    /// Undoes a settled settlement: the account back (to the payout once the insurance has ended),
    /// the accumulators of its year down, its admission open again.
    static let undo = PGStatement("undo_settlement", """
        WITH s AS (
            UPDATE settlement SET state = $2, undone_at = now() WHERE id = $1 AND state = 'settled'
            RETURNING person_id, account, deductible, fund, visit,
                      extract(year FROM business_date)::smallint AS year, admission_id
        ), p AS (
            UPDATE person
            SET balance = CASE WHEN person.insured THEN person.balance + s.account ELSE person.balance END,
                payout = CASE WHEN person.insured THEN person.payout ELSE coalesce(person.payout, 0) + s.account END,
                updated_at = now()
            FROM s WHERE person.id = s.person_id
            RETURNING person.balance
        ), acc AS (
            UPDATE accumulator
            SET deductible_met = accumulator.deductible_met - s.deductible, fund_paid = accumulator.fund_paid - s.fund
            FROM s WHERE accumulator.person_id = s.person_id AND accumulator.year = s.year AND accumulator.visit = s.visit
        ), adm AS (
            UPDATE admission SET status = 'open', closed_at = NULL, deductible_met = 0
            FROM s WHERE admission.id = s.admission_id
        )
        SELECT s.account, p.balance FROM s, p
        """)
    static let insertBlock = PGStatement("insert_reversal_block", """
        INSERT INTO trace (terminal, trace, verb, fingerprint, reply) VALUES ($1, $2, 'REVERSE', $3, 'state=blocked')
        """)
}

extension Store {
    /// The verbs whose traces REVERSE may name.
    static let reversibleVerbs: Set<String> = ["SETTLE", "DISCHARGE"]

    /// CANCEL (撤销): undoes a settlement of this institution, at most once; idempotent by trace.
    public func cancel(settlement wireID: String, traced request: TracedRequest, by context: TerminalContext) -> Outcome {
        perform("CANCEL", traced: true) { connection in
            try connection.transaction {
                if let prior = try priorOutcome(connection, request, by: context) { return prior }
                guard let id = WireID.settlement.decode(wireID) else { return .refused(.notFound, "no such settlement") }
                let row = try connection.query(UndoSQL.settlement, [id])
                guard row.rowCount == 1 else { return .refused(.notFound, "no such settlement") }
                guard try row.requireString(0, 0) == context.institution else {
                    return .refused(.forbidden, "the settlement belongs to another institution")
                }
                let undone: (refund: Fen, balance: Fen)
                switch try undo(connection, settlement: id, personID: try row.requireInt64(0, 1),
                                admission: try row.int64(0, 3), as: "cancelled") {
                case .failure(let refusal): return refusal
                case .success(nil): return .refused(.alreadyCancelled, "the settlement has already been cancelled or reversed")
                case .success(let value?): undone = value
                }
                let reply = [("settlement", wireID), ("refund", String(undone.refund)), ("balance", String(undone.balance))]
                try recordTrace(connection, request, by: context, reply: reply)
                return .ok(reply)
            }
        }
    }

    /// REVERSE (冲正): the terminal got no answer to a SETTLE or DISCHARGE. A settled original is
    /// undone (`state=undone`); an original that never arrived is blocked, so that it is refused
    /// with `REVERSED` if it comes late (`state=blocked`). Repeats answer the same.
    public func reverse(trace: String, by context: TerminalContext) -> Outcome {
        perform("REVERSE", traced: true) { connection in
            try connection.transaction {
                let row = try connection.query(TraceSQL.lookup, [context.terminal, trace])
                guard row.rowCount == 1 else {
                    // If the original commits meanwhile, this insert meets its key and the whole
                    // transaction is retried, then finds the settlement: exactly one outcome.
                    try connection.query(UndoSQL.insertBlock, [context.terminal, trace, PGBytes(Array(repeating: 0, count: 32))])
                    return .ok([("state", "blocked")])
                }
                let verb = try row.requireString(0, 0)
                if verb == "REVERSE" { return .ok([("state", "blocked")]) }
                guard Self.reversibleVerbs.contains(verb), let id = try row.int64(0, 3) else {
                    return .refused(.badRequest, "trace \(trace) names a \(verb), which cannot be reversed")
                }
                let settlement = try connection.query(UndoSQL.settlement, [id])
                switch try undo(connection, settlement: id, personID: try settlement.requireInt64(0, 1),
                                admission: try settlement.int64(0, 3), as: "reversed") {
                case .failure(let refusal): return refusal
                case .success: return .ok([("state", "undone")])
                }
            }
        }
    }

    /// Undoes settlement `id` under its holder's lock. Success(nil) when it was already undone.
    private func undo(_ connection: PGConnection, settlement id: Int64, personID: Int64, admission: Int64?,
                      as state: String) throws -> Result<(refund: Fen, balance: Fen)?, Outcome> {
        try connection.query(UndoSQL.lockPerson, [personID])
        // Read after the lock: a concurrent cancel or reversal has committed by now.
        guard try connection.query(UndoSQL.settlementState, [id]).requireString(0, 0) == "settled" else {
            return .success(nil)
        }
        if admission != nil, try connection.query(UndoSQL.otherOpenAdmission, [personID]).rowCount > 0 {
            return .failure(.refused(.admissionOpen, "the patient has another open admission; it cannot be reopened"))
        }
        let result = try connection.query(UndoSQL.undo, [id, state])
        return .success((try result.requireInt64(0, 0), try result.requireInt64(0, 1)))
    }
}
