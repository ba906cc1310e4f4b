import MedsettleCore
import PGClient

enum EnrolmentSQL {
    static let insertPerson = PGStatement("insert_person", """
        INSERT INTO person (id_no, name, insurance, area, has_account)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id_no) DO NOTHING
        RETURNING id
        """)
    static let lockPerson = PGStatement("lock_person_by_id_no", """
        SELECT id, has_account, insured, balance FROM person WHERE id_no = $1 FOR UPDATE
        """)
    static let credit = PGStatement("credit_account", """
        WITH c AS (
            INSERT INTO account_credit (terminal, trace, person_id, amount) VALUES ($1, $2, $3, $4)
        ), t AS (
            INSERT INTO trace (terminal, trace, verb, fingerprint, reply) VALUES ($1, $2, $5, $6, $7)
        )
        UPDATE person SET balance = balance + $4, updated_at = now() WHERE id = $3
        """)
}

extension Store {
    /// ENROLL (参保登记): a new insured person. Employees and retirees get a personal account.
    /// `area` defaults to the first six digits of the ID number (the registered area code).
    public func enroll(idNo: String, name: String, insurance: InsuranceType, area: String?) -> Outcome {
        perform("ENROLL") { connection in
            let areaCode = area ?? String(idNo.prefix(6))
            let row = try connection.query(EnrolmentSQL.insertPerson,
                                           [idNo, name, insurance.rawValue, areaCode, insurance.hasAccount])
            guard row.rowCount == 1 else {
                return .refused(.personExists, "a person with this ID number is already enrolled")
            }
            return .ok([("person", idNo)])
        }
    }

    /// The largest single credit accepted, in fen (1 000 000 yuan): a typo guard, not a policy.
    public static let maxCredit: Fen = 100_000_000

    /// CREDIT (个人账户划入): adds to a person's personal account, idempotent by trace.
    public func credit(idNo: String, amount: Fen, traced request: TracedRequest, by context: TerminalContext) -> Outcome {
        precondition(amount > 0 && amount <= Self.maxCredit, "the caller validates the amount")
        return perform("CREDIT", traced: true) { connection in
            try connection.transaction {
                if let prior = try priorOutcome(connection, request, by: context) { return prior }
                let person = try connection.query(EnrolmentSQL.lockPerson, [idNo])
                guard person.rowCount == 1 else { return .refused(.personNotFound, "no person with this ID number") }
                guard try person.requireBool(0, 1), try person.requireBool(0, 2) else {
                    return .refused(.noAccount, "this person has no personal account")
                }
                let balance = try person.requireInt64(0, 3) + amount
                let reply = [("balance", String(balance))]
                try connection.query(EnrolmentSQL.credit, [context.terminal, request.trace, try person.requireInt64(0, 0),
                                                           amount, request.verb, PGBytes(request.fingerprint),
                                                           Self.encodeReply(reply)])
                return .ok(reply)
            }
        }
    }
}
