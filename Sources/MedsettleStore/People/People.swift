import MedsettleCore
import PGClient

/// The answer of CREDIT: the balance after it.
public struct Credited: Sendable, Equatable {
    public let balance: Fen
    public let isRepeat: Bool
}

struct PersonID: PGRowDecodable {
    let id: Int64
    init(_ row: inout PGRow) { id = row("id") }
}

struct CreditWrite: Sendable {
    let terminal: String
    let request: TracedRequest
    let personID: Int64
    let amount: Fen
    let answer: StoredAnswer
}

enum PeopleSQL {
    static let insertPerson = PGStatement<PersonID, String, String, String, String, Bool, Bool>("insert_person", """
        INSERT INTO person (id_no, name, insurance, area, has_account, assist)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id_no) DO NOTHING
        RETURNING id
        """)
    static let lockPerson = PGStatement<HolderRow, String>("lock_person_by_id_no", """
        SELECT id, id_no, name, insurance, has_account, balance, insured, assist FROM person WHERE id_no = $1 FOR UPDATE
        """)
    static let credit = PGComposedStatement<PGNoRows, CreditWrite>("credit_account") { sql in
        let terminal = sql.value { $0.terminal }, trace = sql.value { $0.request.trace }
        let person = sql.value { $0.personID }, amount = sql.value { $0.amount }
        return """
            WITH c AS (
                INSERT INTO account_credit (terminal, trace, person_id, amount) VALUES (\(terminal), \(trace), \(person), \(amount))
            ), t AS (
                INSERT INTO trace (terminal, trace, verb, fingerprint, reply)
                VALUES (\(terminal), \(trace), \(sql.value { $0.request.verb }), \(sql.value { PGBytes($0.request.fingerprint) }),
                        \(sql.value { $0.answer.encoded }))
            )
            UPDATE person SET balance = balance + \(amount), updated_at = now() WHERE id = \(person)
            """
    }
    static let personWithIDNo = PGStatement<PGCount, String>("people_with_id_no", "SELECT count(*) AS count FROM person WHERE id_no = $1")
    static let updatePerson = PGStatement<PGNoRows, Int64, String?, String?, Bool?>("update_person", """
        UPDATE person SET name = coalesce($2, name), id_no = coalesce($3, id_no), assist = coalesce($4, assist), updated_at = now()
        WHERE id = $1
        """)
}

/// The insured people (RULES.md §1): ENROLL, CREDIT, PERSONUPDATE.
public struct People: Sendable {
    let runner: TransactionRunner
    let clock: any Clock

    /// The largest single credit accepted, in fen (1 000 000 yuan): a typo guard, not a policy.
    public static let maxCredit: Fen = 100_000_000

    /// ENROLL (参保登记): a new insured person. Employees and retirees get a personal account.
    /// `area` defaults to the first six digits of the ID number (the registered area code).
    /// Answers the person's ID number.
    /// `assist`: flagged for medical assistance (RULES.md §8).
    public func enroll(idNo: String, name: String, insurance: InsuranceType, area: String?, assist: Bool = false) -> Answer<String> {
        runner.transaction("ENROLL") { transaction in
            let areaCode = area ?? String(idNo.prefix(6))
            guard try !transaction.query(PeopleSQL.insertPerson(idNo, name, insurance.rawValue, areaCode, insurance.hasAccount, assist)).isEmpty else {
                return .failure(Refusal(.personExists, "a person with this ID number is already enrolled"))
            }
            return try transaction.commit(answering: .success(idNo))
        }
    }

    /// CREDIT (个人账户划入): adds to a person's personal account, idempotent by trace.
    public func credit(idNo: String, amount: Fen, traced request: TracedRequest, by context: TerminalContext) -> Answer<Credited> {
        precondition(amount > 0 && amount <= Self.maxCredit, "the caller validates the amount")
        return runner.transaction("CREDIT", traced: request, by: context) { transaction in
            if let record = try transaction.traceRecord(request, by: context) {
                return record.repeatedAnswer(for: request).map { Credited(balance: $0.int64("balance"), isRepeat: true) }
            }
            guard let person = try transaction.query(PeopleSQL.lockPerson(idNo)).first else { return .failure(.noSuchPerson) }
            guard person.hasAccount, person.insured else { return .failure(Refusal(.noAccount, "this person has no personal account")) }
            let credited = Credited(balance: person.balance + amount, isRepeat: false)
            let answer = StoredAnswer([("balance", String(credited.balance))])
            return try transaction.commit(with: PeopleSQL.credit(CreditWrite(terminal: context.terminal, request: request,
                                                                            personID: person.id, amount: amount, answer: answer)),
                                          answering: .success(credited))
        }
    }

    /// PERSONUPDATE (信息变更): a new name and/or ID number, and/or the medical-assistance flag;
    /// the current card keeps working. Answers the person's ID number afterwards.
    public func updatePerson(idNo: String, name: String?, newIDNo: String?, assist: Bool? = nil, agent: String?,
                             by context: TerminalContext) -> Answer<String> {
        let date = BusinessDate(unixSeconds: clock.now())
        return runner.transaction("PERSONUPDATE") { transaction in
            guard let person = try transaction.query(PeopleSQL.lockPerson(idNo)).first else { return .failure(.noSuchPerson) }
            if let newIDNo, newIDNo != idNo, try transaction.query(PeopleSQL.personWithIDNo(newIDNo)).first?.count ?? 0 > 0 {
                return .failure(Refusal(.personExists, "another person has the new ID number"))
            }
            let (_, latest) = try transaction.pipeline(PeopleSQL.updatePerson(person.id, name, newIDNo, assist),
                                                       CardDeskSQL.latestCard(person.id))
            var changes: [String] = []
            if name != nil { changes.append("name") }
            if let newIDNo { changes.append("id_no \(idNo)→\(newIDNo)") }
            if let assist { changes.append("assist=\(assist ? 1 : 0)") }
            var writes = WriteSet(date: date)
            writes.event(.personUpdated, cardNo: latest.first?.cardNo, personID: person.id, by: context, agent: agent,
                         detail: changes.joined(separator: ", "))
            return try transaction.commit(writes, answering: .success(newIDNo ?? idNo))
        }
    }
}
