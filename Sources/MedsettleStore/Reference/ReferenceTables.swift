import MedsettleCore
import PGClient

/// The catalog, the policy table and the institutions as the database holds them: read once at
/// start (reference data changes only by migration or seed, so a restart picks changes up).
enum ReferenceTables {
    struct CatalogRow: PGRowDecodable {
        let code: String, name: String, itemClass: ItemClass, unit: String, priceLimit: Fen, firstSelfPayBP: Int64
        init(_ row: inout PGRow) {
            code = row("code")
            name = row("name")
            itemClass = row("class")
            unit = row("unit")
            priceLimit = row("price_limit")
            firstSelfPayBP = row("first_selfpay_bp")
        }

        var item: CatalogItem {
            CatalogItem(code: code, name: name, itemClass: itemClass, unit: unit, priceLimit: priceLimit, firstSelfPayBP: firstSelfPayBP)
        }
    }

    struct PolicyRow: PGRowDecodable {
        let insurance: InsuranceType, visit: VisitType, level: Int, deductible: Fen, deductibleScope: DeductibleScope
        let fundRatioBP: Int64, annualCeiling: Fen, accountPaysFull: Bool
        init(_ row: inout PGRow) {
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

    static let catalog = PGStatement<CatalogRow>("reference_catalog", """
        SELECT code, name, class, unit, price_limit, first_selfpay_bp FROM catalog_item
        """)
    static let policies = PGStatement<PolicyRow>("reference_policies", """
        SELECT insurance, visit, level, deductible, deductible_scope, fund_ratio_bp, annual_ceiling, account_pays_full FROM policy
        """)
    static let institutions = PGStatement<InstitutionRow>("reference_institutions", "SELECT code, name, kind, level FROM institution")

    static func load(_ connection: PGConnection) throws -> (ReferenceData, [String: InstitutionRecord]) {
        let (items, policies, institutions) = try connection.pipeline(catalog(), Self.policies(), Self.institutions())
        let reference = ReferenceData(catalog: Dictionary(items.map { ($0.item.code, $0.item) }, uniquingKeysWith: { $1 }),
                                      policies: Dictionary(policies.map { ($0.policy.key, $0.policy) }, uniquingKeysWith: { $1 }))
        return (reference, Dictionary(institutions.map { ($0.institution.code, $0.institution) }, uniquingKeysWith: { $1 }))
    }
}
