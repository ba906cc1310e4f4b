import Crypto
import MedsettleCore
import MedsettleStore
import PGClient

/// The generated population of load tests (`medsettle seed`), known to the load harness without
/// reading the database: card `L` + 8 digits, one PIN for all, ID numbers `99` + 15 digits +
/// check character, pharmacy terminals `LOAD-P0001…`, hospital terminals `LOAD-H0001…` (the mixed
/// load's admissions) and one online terminal `LOAD-O0001` (the holder's app back end, which asks
/// for payment QR codes), all with keys derived from their ids.
///
/// Families (RULES.md §9): every twentieth person (`n % 20 == 19`) is a resident without an
/// account, bound as a child to the person before, whose account pays for them.
///
/// Those keys are public by construction: generated terminals are for load tests only and must
/// never exist in production (`medsettle seed` is not part of any production set-up).
public enum LoadTestData {
    public static let pin = "246810"
    /// A PIN no generated person has.
    public static let wrongPIN = "000000"
    public static let credit: Fen = 10_000_000
    /// The pharmacies the generated terminals belong to, in turn.
    public static let pharmacies = ["P001", "P002"]
    /// The hospitals the generated hospital terminals belong to, in turn (levels 3, 2 and 1).
    public static let hospitals = ["H001", "H002", "H003"]
    /// The one `online` terminal (of the reference institution O001): QRCODE is an online verb.
    public static let onlineTerminal = "LOAD-O0001"
    public static let onlineInstitution = "O001"

    public static func cardNo(_ index: Int) -> String {
        precondition((1...99_999_999).contains(index), "load cards are L00000001…L99999999")
        return "L" + String(repeating: "0", count: 8 - String(index).count) + String(index)
    }

    public static func idNo(_ index: Int) -> String {
        let digits = String(index)
        return ResidentID.complete("99" + String(repeating: "0", count: 15 - digits.count) + digits)!
    }

    public static func terminal(_ index: Int) -> String {
        "LOAD-P" + String(repeating: "0", count: max(0, 4 - String(index).count)) + String(index)
    }

    public static func hospitalTerminal(_ index: Int) -> String {
        "LOAD-H" + String(repeating: "0", count: max(0, 4 - String(index).count)) + String(index)
    }

    /// Person `index` is a family member (a resident without an account) of person `index − 1`.
    public static func isFamilyMember(_ index: Int) -> Bool { index % 20 == 19 }

    public static func terminalKey(_ terminal: String) -> [UInt8] {
        Array(SHA256.hash(data: Array("medsettle load-test terminal \(terminal)".utf8)))
    }
}

/// Loads the generated population of `LoadTestData` (`medsettle seed`, the load tests).
public enum LoadSeeder {
    static let generatedPeople = PGStatement<PGCount>("load_people_count", "SELECT count(*) AS count FROM person WHERE id_no LIKE '99%'")
    static let insertTerminal = PGStatement<PGNoRows, String, String, PGBytes>("load_terminal", """
        INSERT INTO terminal (id, institution, key_sealed, enabled) VALUES ($1, $2, $3, true) ON CONFLICT (id) DO NOTHING
        """)

    /// Enrols people `1…count` (skipping those already there) with ACTIVE cards and credited
    /// accounts, through COPY; every tenth is a retiree, every twentieth a resident family member
    /// (`LoadTestData.isFamilyMember`: no account, bound to the person before), the rest employees.
    @discardableResult
    public static func loadPeople(_ connection: PGConnection, secrets: ServerSecrets, count: Int) throws -> Int {
        let existing = Int(try connection.query(generatedPeople()).first?.count ?? 0)
        guard existing < count else { return 0 }
        let range = (existing + 1)...count
        try connection.withTransaction { transaction in
            try transaction.execute("""
                CREATE TEMP TABLE load_person (payer_id_no text, id_no text, name text, insurance text, card_no text, salt bytea, hash bytea)
                ON COMMIT DROP
                """)
            var generator = SystemRandomNumberGenerator()
            let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let saltHex = "\\\\x" + encodeHex(salt)
            try transaction.copyIn("COPY load_person FROM STDIN", rows: range.lazy.map { i in
                let card = LoadTestData.cardNo(i)
                let hash = secrets.pinHash(salt: salt, cardNo: card, pin: LoadTestData.pin)
                let insurance = LoadTestData.isFamilyMember(i) ? "resident" : i % 10 == 0 ? "retiree" : "employee"
                let payer = LoadTestData.isFamilyMember(i) ? LoadTestData.idNo(i - 1) : "\\N"
                return "\(payer)\t\(LoadTestData.idNo(i))\tload \(i)\t\(insurance)\t\(card)\t\(saltHex)\t\\\\x\(encodeHex(hash))"
            })
            // Statistics for the temporary table and memory for hash joins: without them the joins
            // by id_no below are planned as a million index look-ups.
            try transaction.execute("ANALYZE load_person; SET LOCAL work_mem = '256MB'; SET LOCAL synchronous_commit = off")
            try transaction.execute("""
                INSERT INTO person (id_no, name, insurance, area, has_account, balance)
                SELECT id_no, name, insurance, '990000', insurance <> 'resident',
                       CASE WHEN insurance = 'resident' THEN 0 ELSE \(LoadTestData.credit) END
                FROM load_person;
                INSERT INTO card (card_no, person_id, status, pin_salt, pin_hash)
                SELECT l.card_no, p.id, 'ACTIVE', l.salt, l.hash FROM load_person l JOIN person p ON p.id_no = l.id_no;
                INSERT INTO account_credit (terminal, trace, person_id, amount)
                SELECT 'G001-01', 'LOAD-SEED-' || l.card_no, p.id, \(LoadTestData.credit)
                FROM load_person l JOIN person p ON p.id_no = l.id_no WHERE l.insurance <> 'resident';
                INSERT INTO family_binding (payer_id, member_id, relation, terminal)
                SELECT payer.id, member.id, 'child', 'W001-01'
                FROM load_person l
                JOIN person member ON member.id_no = l.id_no
                JOIN person payer ON payer.id_no = l.payer_id_no;
                """)
            try transaction.commit()
        }
        try connection.execute("ANALYZE person; ANALYZE card; ANALYZE account_credit")
        return range.count
    }

    /// Adds generated pharmacy and hospital terminals `1…count` and the online terminal (keys
    /// from `LoadTestData.terminalKey`).
    public static func loadTerminals(_ connection: PGConnection, secrets: ServerSecrets, count: Int) throws {
        let terminals = (1...max(1, count)).flatMap { i in
            [(LoadTestData.terminal(i), LoadTestData.pharmacies[i % LoadTestData.pharmacies.count]),
             (LoadTestData.hospitalTerminal(i), LoadTestData.hospitals[i % LoadTestData.hospitals.count])]
        } + [(LoadTestData.onlineTerminal, LoadTestData.onlineInstitution)]
        try connection.withTransaction { transaction in
            for (id, institution) in terminals {
                _ = try transaction.query(insertTerminal(id, institution, PGBytes(try secrets.seal(terminalKey: LoadTestData.terminalKey(id)))))
            }
            try transaction.commit()
        }
    }
}
