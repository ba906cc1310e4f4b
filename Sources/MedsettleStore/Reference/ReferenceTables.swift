import MedsettleCore
import PGClient

/// The statements that read the reference data into memory: catalog and policy versions (only
/// those not held yet: versions never change once imported), institutions and terminals.
enum ReferenceTables {
    struct VersionRow: PGRowDecodable {
        let version: Int, effectiveDay: Int64, importedAt: Int64
        init(_ row: inout PGRow) {
            version = row("version")
            effectiveDay = row("effective_day")
            importedAt = row("imported_at")
        }

        var effective: BusinessDate { BusinessDate(daysSinceEpoch: effectiveDay) }
    }

    struct CatalogRow: PGRowDecodable {
        let version: Int
        let code: String, name: String, itemClass: ItemClass, unit: String, priceLimit: Fen, firstSelfPayBP: Int64, traced: Bool
        init(_ row: inout PGRow) {
            version = row("version")
            code = row("code")
            name = row("name")
            itemClass = row("class")
            unit = row("unit")
            priceLimit = row("price_limit")
            firstSelfPayBP = row("first_selfpay_bp")
            traced = row("traced")
        }

        var item: CatalogItem {
            CatalogItem(code: code, name: name, itemClass: itemClass, unit: unit, priceLimit: priceLimit, firstSelfPayBP: firstSelfPayBP,
                        traced: traced)
        }
    }

    struct PolicyRow: PGRowDecodable {
        let version: Int
        let insurance: InsuranceType, visit: VisitType, level: Int, deductible: Fen, deductibleScope: DeductibleScope
        let fundRatioBP: Int64, annualCeiling: Fen, accountPaysFull: Bool
        init(_ row: inout PGRow) {
            version = row("version")
            insurance = row("insurance")
            visit = row("visit")
            level = row("level")
            deductible = row("deductible")
            deductibleScope = row("deductible_scope")
            fundRatioBP = row("fund_ratio_bp")
            annualCeiling = row("annual_ceiling")
            accountPaysFull = row("account_pays_full")
        }

        var policy: Policy {
            Policy(insurance: insurance, visit: visit, level: level, deductible: deductible, deductibleScope: deductibleScope,
                   fundRatioBP: fundRatioBP, annualCeiling: annualCeiling, accountPaysFull: accountPaysFull)
        }
    }

    struct BenefitRow: PGRowDecodable {
        let version: Int
        let insurance: InsuranceType, illnessThreshold: Fen, illnessRatioBP: Int64, illnessCeiling: Fen
        let assistRatioBP: Int64, assistCeiling: Fen
        init(_ row: inout PGRow) {
            version = row("version")
            insurance = row("insurance")
            illnessThreshold = row("illness_threshold")
            illnessRatioBP = row("illness_ratio_bp")
            illnessCeiling = row("illness_ceiling")
            assistRatioBP = row("assist_ratio_bp")
            assistCeiling = row("assist_ceiling")
        }

        var benefit: Benefit {
            Benefit(insurance: insurance, illnessThreshold: illnessThreshold, illnessRatioBP: illnessRatioBP,
                    illnessCeiling: illnessCeiling, assistRatioBP: assistRatioBP, assistCeiling: assistCeiling)
        }
    }

    struct InstitutionRow: PGRowDecodable {
        let code: String, name: String, kind: TerminalKind, level: Int
        init(_ row: inout PGRow) {
            code = row("code")
            name = row("name")
            kind = row("kind")
            level = row("level")
        }

        var institution: InstitutionRecord { InstitutionRecord(code: code, name: name, kind: kind, level: level) }
    }

    /// A terminal with what its sessions need of its institution, read in one statement (one
    /// snapshot: an institution and its new terminal are seen together or not at all).
    struct TerminalRow: PGRowDecodable {
        let id: String, institution: String, kind: TerminalKind, level: Int
        let sealedKey: [UInt8], keyVersion: Int, disabledCount: Int, enabled: Bool
        init(_ row: inout PGRow) {
            id = row("id")
            institution = row("institution")
            kind = row("kind")
            level = row("level")
            sealedKey = row("key_sealed")
            keyVersion = row("key_version")
            disabledCount = row("disabled_count")
            enabled = row("enabled")
        }
    }

    static let catalogVersions = PGStatement<VersionRow, Int64>("reference_catalog_versions", """
        SELECT version, effective - DATE '1970-01-01' AS effective_day, extract(epoch FROM imported_at)::bigint AS imported_at
        FROM catalog_version WHERE version > $1
        """)
    static let catalogEntries = PGStatement<CatalogRow, Int64>("reference_catalog_entries", """
        SELECT version, code, name, class, unit, price_limit, first_selfpay_bp, traced FROM catalog_entry WHERE version > $1
        """)
    static let policyVersions = PGStatement<VersionRow, Int64>("reference_policy_versions", """
        SELECT version, effective - DATE '1970-01-01' AS effective_day, extract(epoch FROM imported_at)::bigint AS imported_at
        FROM policy_version WHERE version > $1
        """)
    static let policyEntries = PGStatement<PolicyRow, Int64>("reference_policy_entries", """
        SELECT version, insurance, visit, level, deductible, deductible_scope, fund_ratio_bp, annual_ceiling, account_pays_full
        FROM policy_entry WHERE version > $1
        """)
    static let benefitEntries = PGStatement<BenefitRow, Int64>("reference_benefit_entries", """
        SELECT version, insurance, illness_threshold, illness_ratio_bp, illness_ceiling, assist_ratio_bp, assist_ceiling
        FROM benefit_entry WHERE version > $1
        """)
    static let institutions = PGStatement<InstitutionRow>("reference_institutions", "SELECT code, name, kind, level FROM institution")
    static let terminals = PGStatement<TerminalRow>("reference_terminals", """
        SELECT t.id, t.institution, i.kind, i.level, t.key_sealed, t.key_version, t.disabled_count, t.enabled
        FROM terminal t JOIN institution i ON i.code = t.institution
        """)

    /// The terminals' keys opened with `secrets`, and the ids of those whose key does not open
    /// (the database was set up under another secret). Keys stay in memory only.
    static func openKeys(_ rows: [TerminalRow], with secrets: ServerSecrets) -> (opened: [(row: TerminalRow, key: [UInt8])], unopened: [String]) {
        var opened: [(row: TerminalRow, key: [UInt8])] = [], unopened: [String] = []
        for row in rows {
            if let key = try? secrets.open(sealedTerminalKey: row.sealedKey) { opened.append((row, key)) } else { unopened.append(row.id) }
        }
        return (opened, unopened)
    }

    /// Catalog versions numbered above `known`. Read without a transaction: a version's entries
    /// commit with it, and the entries are read after the versions, so every version read has
    /// all its entries; entries of a version committed in between are left for the next load.
    static func catalogs(after known: Int, _ connection: PGConnection) throws -> [CatalogVersion] {
        let (versions, entries) = try connection.pipeline(catalogVersions(Int64(known)), catalogEntries(Int64(known)))
        let items = Dictionary(grouping: entries, by: \.version)
        return versions.map { v in
            CatalogVersion(version: v.version, effective: v.effective, importedAt: v.importedAt,
                           items: Dictionary((items[v.version] ?? []).map { ($0.code, $0.item) }, uniquingKeysWith: { $1 }))
        }
    }

    static func policies(after known: Int, _ connection: PGConnection) throws -> [PolicyVersion] {
        let (versions, rows, benefits) = try connection.pipeline(policyVersions(Int64(known)), policyEntries(Int64(known)),
                                                                 benefitEntries(Int64(known)))
        let policyRows = Dictionary(grouping: rows, by: \.version)
        let benefitRows = Dictionary(grouping: benefits, by: \.version)
        return versions.map { v in
            PolicyVersion(version: v.version, effective: v.effective, importedAt: v.importedAt,
                          policies: Dictionary((policyRows[v.version] ?? []).map { ($0.policy.key, $0.policy) }, uniquingKeysWith: { $1 }),
                          benefits: Dictionary((benefitRows[v.version] ?? []).map { ($0.insurance, $0.benefit) }, uniquingKeysWith: { $1 }))
        }
    }
}
