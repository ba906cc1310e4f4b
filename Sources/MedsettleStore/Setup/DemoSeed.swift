import MedsettleCore
import MedsettleSQL
import PGClient

/// Loads the demo data set shipped in `sql/seed` (a copy of the project's fixtures) and a few
/// ready demo people. Safe to re-run: existing rows are left as they are.
public enum Seeder {
    /// A demo cardholder: enrolled, with an ACTIVE card, a known PIN and a credited account.
    public struct DemoPerson: Sendable {
        public let idNo: String
        public let name: String
        public let insurance: InsuranceType
        public let cardNo: String
        public let pin: String
        public let credit: Fen
    }

    /// The demo people listed in the README. ID numbers are valid GB 11643 numbers.
    public static let demoPeople: [DemoPerson] = [
        DemoPerson(idNo: ResidentID.complete("11010519800101001")!, name: "张伟", insurance: .employee,
                   cardNo: "H00000017", pin: "246810", credit: 50_000),
        DemoPerson(idNo: ResidentID.complete("11010519550505002")!, name: "李秀英", insurance: .retiree,
                   cardNo: "H00000018", pin: "135790", credit: 80_000),
        DemoPerson(idNo: ResidentID.complete("11010520000909003")!, name: "王芳", insurance: .resident,
                   cardNo: "H00000019", pin: "802461", credit: 0),
    ]

    /// The agency terminal that the demo credits are recorded under.
    static let demoCreditTerminal = "G001-01"

    /// Loads institutions, terminals (keys sealed), catalog and policy from the shipped CSVs.
    public static func loadReferenceData(_ connection: PGConnection, secrets: ServerSecrets) throws {
        let institutions = try InstitutionRecord.parse(csv: try SQLResources.seedFile("institutions.csv"))
        let terminals = try TerminalRecord.parse(csv: try SQLResources.seedFile("terminals.csv"),
                                                 institutions: Set(institutions.map(\.code)))
        let catalog = try ReferenceData.parseCatalog(try SQLResources.seedFile("catalog.csv"))
        let policies = try ReferenceData.parsePolicies(try SQLResources.seedFile("policy.csv"))
        try connection.withTransaction { transaction in
            for i in institutions {
                _ = try transaction.query(SeedSQL.institution(i.code, i.name, i.kind.rawValue, Int64(i.level)))
            }
            for t in terminals {
                _ = try transaction.query(TerminalAdministrationSQL.insert(t.terminal, t.institution,
                                                                           PGBytes(try secrets.seal(terminalKey: t.key)), t.enabled))
            }
            for item in catalog.values.sorted(by: { $0.code < $1.code }) {
                _ = try transaction.query(SeedSQL.catalogItem(item.code, item.name, item.itemClass.rawValue, item.unit, item.priceLimit,
                                                              item.firstSelfPayBP))
            }
            for p in policies.values {
                _ = try transaction.query(SeedSQL.policy(p.insurance.rawValue, p.visit.rawValue, Int64(p.level), p.deductible,
                                                         p.deductibleScope.rawValue, p.fundRatioBP, p.annualCeiling, p.accountPaysFull))
            }
            try transaction.commit()
        }
    }

    /// Enrols the demo people with ACTIVE cards and credited accounts, unless already there.
    public static func loadDemoPeople(_ connection: PGConnection, secrets: ServerSecrets) throws {
        try connection.withTransaction { transaction in
            for (n, person) in demoPeople.enumerated() {
                guard let personID = try transaction.query(PeopleSQL.insertPerson(person.idNo, person.name, person.insurance.rawValue,
                                                                                  String(person.idNo.prefix(6)),
                                                                                  person.insurance.hasAccount)).first?.id else { continue }
                let salt = randomBytes(16)
                let hash = secrets.pinHash(salt: salt, cardNo: person.cardNo, pin: person.pin)
                _ = try transaction.query(SeedSQL.activeCard(person.cardNo, personID, PGBytes(salt), PGBytes(hash)))
                guard person.credit > 0 else { continue }
                let trace = "DEMO-SEED-\(n + 1)"
                _ = try transaction.query(PeopleSQL.credit(CreditWrite(
                    terminal: demoCreditTerminal,
                    request: TracedRequest(trace: trace, verb: "CREDIT", fingerprint: Array(repeating: 0, count: 32)),
                    personID: personID, amount: person.credit, answer: StoredAnswer([("balance", String(person.credit))]))))
            }
            try transaction.commit()
        }
    }
}

/// The statements that load the demo data set.
enum SeedSQL {
    static let institution = PGStatement<PGNoRows, String, String, String, Int64>("seed_institution", """
        INSERT INTO institution (code, name, kind, level) VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING
        """)
    static let catalogItem = PGStatement<PGNoRows, String, String, String, String, Int64, Int64>("seed_catalog_item", """
        INSERT INTO catalog_item (code, name, class, unit, price_limit, first_selfpay_bp)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO NOTHING
        """)
    static let policy = PGStatement<PGNoRows, String, String, Int64, Int64, String, Int64, Int64, Bool>("seed_policy", """
        INSERT INTO policy (insurance, visit, level, deductible, deductible_scope, fund_ratio_bp, annual_ceiling, account_pays_full)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING
        """)
    static let activeCard = PGStatement<PGNoRows, String, Int64, PGBytes, PGBytes>("seed_active_card", """
        INSERT INTO card (card_no, person_id, status, pin_salt, pin_hash) VALUES ($1, $2, 'ACTIVE', $3, $4)
        """)
}
