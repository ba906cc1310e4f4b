import MedsettleCore
import MedsettleSQL
import PGClient
import ReferenceFiles

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

    /// The demo data set's catalog and policy are in force from this date (before any settlement).
    public static let demoEffective = BusinessDate(year: 2000, month: 1, day: 1)!

    /// Loads institutions, terminals (keys sealed), and the catalog and policy as version 1 of
    /// each, effective 20000101, from the shipped CSVs; what is there already is left as it is.
    public static func loadReferenceData(_ connection: PGConnection, secrets: ServerSecrets) throws {
        let institutions = try InstitutionFile.institutions(try SQLResources.seedFile("institutions.csv"))
        let terminals = try TerminalFile.terminals(try SQLResources.seedFile("terminals.csv"),
                                                   institutions: Set(institutions.map(\.code)))
        let catalog = try CatalogFile.items(try SQLResources.seedFile("catalog.csv"))
        let (policies, benefits) = try PolicyFile.parse(policy: try SQLResources.seedFile("policy.csv"),
                                                        benefits: try SQLResources.seedFile("benefits.csv"))
        let administration = ReferenceAdministration(connection: connection)
        _ = try administration.importInstitutions(institutions)
        try connection.withTransaction { transaction in
            for t in terminals {
                _ = try transaction.query(TerminalAdministrationSQL.insert(t.terminal, t.institution,
                                                                           PGBytes(try secrets.seal(terminalKey: t.key)), t.enabled))
            }
            try transaction.commit()
        }
        let today = BusinessDate(unixSeconds: SystemClock().now())
        if try administration.catalogVersions().isEmpty {
            _ = try administration.importCatalog(catalog, effective: demoEffective, today: today,
                                                 allowPast: true)
        }
        if try administration.policyVersions().isEmpty {
            _ = try administration.importPolicy(policies, benefits: benefits, effective: demoEffective,
                                                today: today, allowPast: true)
        }
    }

    /// Enrols the demo people with ACTIVE cards and credited accounts, unless already there.
    public static func loadDemoPeople(_ connection: PGConnection, secrets: ServerSecrets) throws {
        try connection.withTransaction { transaction in
            for (n, person) in demoPeople.enumerated() {
                guard let personID = try transaction.query(PeopleSQL.insertPerson(person.idNo, person.name, person.insurance.rawValue,
                                                                                  String(person.idNo.prefix(6)),
                                                                                  person.insurance.hasAccount, false)).first?.id else { continue }
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
    static let activeCard = PGStatement<PGNoRows, String, Int64, PGBytes, PGBytes>("seed_active_card", """
        INSERT INTO card (card_no, person_id, status, pin_salt, pin_hash) VALUES ($1, $2, 'ACTIVE', $3, $4)
        """)
}
