import MedsettleCore
import PGClient

/// A catalog or policy version as `catalog versions` / `policy versions` show it.
public struct VersionListing: Sendable, Equatable, PGRowDecodable {
    public let version: Int
    public let effectiveDay: Int64
    /// Catalog items, or policy rows.
    public let rows: Int
    /// Benefit rows (0 for the catalog).
    public let benefits: Int
    /// Asia/Shanghai, `YYYY-MM-DDTHH:MM:SS`.
    public let importedAt: String

    public init(_ row: inout PGRow) {
        version = row("version")
        effectiveDay = row("effective_day")
        rows = row("rows")
        benefits = row("benefits")
        importedAt = row("imported_at")
    }

    public var effective: BusinessDate { BusinessDate(daysSinceEpoch: effectiveDay) }
}

/// A version made by an import.
public struct ImportedVersion: Sendable, Equatable {
    public let version: Int
    public let effective: BusinessDate
    public let rows: Int
    public let benefits: Int
}

/// What an institution import did.
public struct ImportedInstitutions: Sendable, Equatable {
    public let added: Int
    public let updated: Int
    public let unchanged: Int
}

/// Why an import changed nothing (ADMIN.md: a non-zero exit).
public enum ReferenceImportError: Error, Equatable, CustomStringConvertible {
    /// The effective date is before today's business date (RULES.md §7).
    case effectiveInThePast(effective: BusinessDate, today: BusinessDate)
    /// An institution import would change an institution's kind.
    case kindChange(code: String, from: TerminalKind, to: TerminalKind)

    public var description: String {
        switch self {
        case .effectiveInThePast(let effective, let today):
            return "effective date \(effective.yyyymmdd) is before today's business date \(today.yyyymmdd): history never changes"
        case .kindChange(let code, let from, let to):
            return "institution \(code) is a \(from.rawValue); an import cannot make it a \(to.rawValue)"
        }
    }
}

enum ReferenceAdministrationSQL {
    struct NewVersion: PGRowDecodable {
        let version: Int
        init(_ row: inout PGRow) { version = row("version") }
    }

    struct CatalogImport: Sendable {
        let effective: BusinessDate
        let items: [CatalogItem]
    }

    struct PolicyImport: Sendable {
        let effective: BusinessDate
        let policies: [Policy]
        let benefits: [Benefit]
    }

    struct Day: PGRowDecodable {
        let day: Int64
        init(_ row: inout PGRow) { day = row("day") }
    }

    /// Today's business date by the database server's clock.
    static let today = PGStatement<Day>("reference_import_today", """
        SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date - DATE '1970-01-01' AS day
        """)

    /// Serialises imports of one kind (version numbers and their order of commit agree).
    static let lock = PGStatement<PGNoRows, Int64>("reference_import_lock", "SELECT FROM pg_advisory_xact_lock($1)")

    static let importCatalog = PGComposedStatement<NewVersion, CatalogImport>("import_catalog") { sql in
        """
        WITH v AS (
            INSERT INTO catalog_version (effective, items)
            VALUES (\(sql.value { $0.effective.yyyymmdd })::date, \(sql.value { Int64($0.items.count) })::integer)
            RETURNING version
        ), e AS (
            INSERT INTO catalog_entry (version, code, name, class, unit, price_limit, first_selfpay_bp, traced)
            SELECT v.version, x.code, x.name, x.class, x.unit, x.price_limit, x.first_selfpay_bp, x.traced
            FROM v, \(sql.unnest({ $0.items }, [
                .text("code", { $0.code }), .text("name", { $0.name }), .text("class", { $0.itemClass.rawValue }),
                .text("unit", { $0.unit }), .int64("price_limit", { $0.priceLimit }), .int32("first_selfpay_bp", { $0.firstSelfPayBP }),
                .bool("traced", { $0.traced }),
            ], as: "x"))
        )
        SELECT version FROM v
        """
    }

    static let importPolicy = PGComposedStatement<NewVersion, PolicyImport>("import_policy") { sql in
        """
        WITH v AS (
            INSERT INTO policy_version (effective, rows, benefits)
            VALUES (\(sql.value { $0.effective.yyyymmdd })::date, \(sql.value { Int64($0.policies.count) })::integer,
                    \(sql.value { Int64($0.benefits.count) })::integer)
            RETURNING version
        ), p AS (
            INSERT INTO policy_entry (version, insurance, visit, level, deductible, deductible_scope, fund_ratio_bp, annual_ceiling,
                                      account_pays_full)
            SELECT v.version, x.insurance, x.visit, x.level, x.deductible, x.deductible_scope, x.fund_ratio_bp, x.annual_ceiling,
                   x.account_pays_full
            FROM v, \(sql.unnest({ $0.policies }, [
                .text("insurance", { $0.insurance.rawValue }), .text("visit", { $0.visit.rawValue }), .int16("level", { Int64($0.level) }),
                .int64("deductible", { $0.deductible }), .text("deductible_scope", { $0.deductibleScope.rawValue }),
                .int32("fund_ratio_bp", { $0.fundRatioBP }), .int64("annual_ceiling", { $0.annualCeiling }),
                .bool("account_pays_full", { $0.accountPaysFull }),
            ], as: "x"))
        ), b AS (
            INSERT INTO benefit_entry (version, insurance, illness_threshold, illness_ratio_bp, illness_ceiling, assist_ratio_bp,
                                       assist_ceiling)
            SELECT v.version, y.insurance, y.illness_threshold, y.illness_ratio_bp, y.illness_ceiling, y.assist_ratio_bp, y.assist_ceiling
            FROM v, \(sql.unnest({ $0.benefits }, [
                .text("insurance", { $0.insurance.rawValue }), .int64("illness_threshold", { $0.illnessThreshold }),
                .int32("illness_ratio_bp", { $0.illnessRatioBP }), .int64("illness_ceiling", { $0.illnessCeiling }),
                .int32("assist_ratio_bp", { $0.assistRatioBP }), .int64("assist_ceiling", { $0.assistCeiling }),
            ], as: "y"))
        )
        SELECT version FROM v
        """
    }

    static let upsertInstitution = PGStatement<PGNoRows, String, String, String, Int64>("admin_institution_upsert", """
        INSERT INTO institution (code, name, kind, level) VALUES ($1, $2, $3, $4)
        ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level
        """)

    static let catalogVersions = PGStatement<VersionListing>("admin_catalog_versions", """
        SELECT version, effective - DATE '1970-01-01' AS effective_day, items AS rows, 0 AS benefits,
               to_char(imported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') AS imported_at
        FROM catalog_version ORDER BY version
        """)
    static let policyVersions = PGStatement<VersionListing>("admin_policy_versions", """
        SELECT version, effective - DATE '1970-01-01' AS effective_day, rows, benefits,
               to_char(imported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') AS imported_at
        FROM policy_version ORDER BY version
        """)
}

/// The operator's reference-data commands (ADMIN.md "Setting up", "Catalog and policy
/// versions"): each import is one transaction, all or nothing, and its commit tells every front
/// (NOTIFY) to load the new version. The rows come validated (`ReferenceFiles`); this checks
/// what only the database or the clock knows.
public struct ReferenceAdministration: Sendable {
    let connection: PGConnection
    /// Whether the database server's clock also says what today is (a host whose clock runs
    /// behind must not make a version dated in the past); off only for tests on a manual clock.
    let checksDatabaseClock: Bool

    public init(connection: PGConnection, checksDatabaseClock: Bool = true) {
        self.connection = connection
        self.checksDatabaseClock = checksDatabaseClock
    }

    /// Refuses an effective date before today, by `today` and by the database's clock.
    private func checkEffective(_ effective: BusinessDate, today: BusinessDate, allowPast: Bool,
                                _ transaction: borrowing PGTransaction) throws {
        guard !allowPast else { return }
        var today = today
        if checksDatabaseClock, let day = try transaction.query(ReferenceAdministrationSQL.today()).first?.day {
            today = max(today, BusinessDate(daysSinceEpoch: day))
        }
        guard effective >= today else { throw ReferenceImportError.effectiveInThePast(effective: effective, today: today) }
    }

    /// Imports a complete catalog as a new version effective on `effective`, which must not be
    /// before `today` unless `allowPast` (the demo data set is effective 20000101).
    public func importCatalog(_ items: [CatalogItem], effective: BusinessDate, today: BusinessDate,
                              allowPast: Bool = false) throws -> ImportedVersion {
        guard allowPast || effective >= today else { throw ReferenceImportError.effectiveInThePast(effective: effective, today: today) }
        precondition(!items.isEmpty && Set(items.map(\.code)).count == items.count, "a catalog version holds unique codes")
        return try connection.withTransaction { transaction in
            _ = try transaction.query(ReferenceAdministrationSQL.lock(7_411_101))
            try checkEffective(effective, today: today, allowPast: allowPast, transaction)
            guard let made = try transaction.query(ReferenceAdministrationSQL.importCatalog(.init(effective: effective, items: items))).first else {
                preconditionFailure("an INSERT … RETURNING returns its row")
            }
            try transaction.commit()
            return ImportedVersion(version: made.version, effective: effective, rows: items.count, benefits: 0)
        }
    }

    /// Imports the policy rows and benefit rows together as a new policy version.
    public func importPolicy(_ policies: [Policy], benefits: [Benefit], effective: BusinessDate, today: BusinessDate,
                             allowPast: Bool = false) throws -> ImportedVersion {
        guard allowPast || effective >= today else { throw ReferenceImportError.effectiveInThePast(effective: effective, today: today) }
        precondition(Set(policies.map(\.key)).count == policies.count, "one policy row per key")
        precondition(Set(benefits.map(\.insurance)).count == benefits.count, "one benefit row per insurance type")
        return try connection.withTransaction { transaction in
            _ = try transaction.query(ReferenceAdministrationSQL.lock(7_411_102))
            try checkEffective(effective, today: today, allowPast: allowPast, transaction)
            let input = ReferenceAdministrationSQL.PolicyImport(effective: effective, policies: policies, benefits: benefits)
            guard let made = try transaction.query(ReferenceAdministrationSQL.importPolicy(input)).first else {
                preconditionFailure("an INSERT … RETURNING returns its row")
            }
            try transaction.commit()
            return ImportedVersion(version: made.version, effective: effective, rows: policies.count, benefits: benefits.count)
        }
    }

    /// Adds institutions and updates the name and level of known ones; never deletes, and refuses
    /// the whole file when one row would change an institution's kind.
    public func importInstitutions(_ institutions: [InstitutionRecord]) throws -> ImportedInstitutions {
        try connection.withTransaction { transaction in
            _ = try transaction.query(ReferenceAdministrationSQL.lock(7_411_103))
            let known = Dictionary(try transaction.query(ReferenceTables.institutions()).map { ($0.code, $0) },
                                   uniquingKeysWith: { $1 })
            var added = 0, updated = 0, unchanged = 0
            for institution in institutions {
                if let old = known[institution.code] {
                    guard old.kind == institution.kind else {
                        throw ReferenceImportError.kindChange(code: institution.code, from: old.kind, to: institution.kind)
                    }
                    if old.name == institution.name && old.level == institution.level {
                        unchanged += 1
                        continue
                    }
                    updated += 1
                } else {
                    added += 1
                }
                _ = try transaction.query(ReferenceAdministrationSQL.upsertInstitution(institution.code, institution.name,
                                                                                       institution.kind.rawValue, Int64(institution.level)))
            }
            try transaction.commit()
            return ImportedInstitutions(added: added, updated: updated, unchanged: unchanged)
        }
    }

    public func catalogVersions() throws -> [VersionListing] {
        try connection.query(ReferenceAdministrationSQL.catalogVersions())
    }

    public func policyVersions() throws -> [VersionListing] {
        try connection.query(ReferenceAdministrationSQL.policyVersions())
    }
}
