/// Loading the catalog and the policy table from the fixture CSV formats (catalog.csv,
/// policy.csv). Validation is strict because a silently wrong limit or ratio would misprice every
/// claim that touches it; each error names the file and line.
extension ReferenceData {
    public static let catalogHeader = ["code", "name", "class", "unit", "price_limit_fen", "first_selfpay_bp", "traced"]
    public static let benefitHeader = ["insurance", "illness_threshold_fen", "illness_ratio_bp", "illness_ceiling_fen",
                                       "assist_ratio_bp", "assist_ceiling_fen"]
    public static let policyHeader = [
        "insurance", "visit", "level", "deductible_fen", "deductible_scope",
        "fund_ratio_bp", "annual_ceiling_fen", "account_pays_full",
    ]

    /// Parses both files. Throws `CSVError` on the first problem.
    public static func parse(catalogCSV: String, policyCSV: String) throws -> ReferenceData {
        ReferenceData(catalog: try parseCatalog(catalogCSV), policies: try parsePolicies(policyCSV))
    }

    /// catalog.csv: `code,name,class,unit,price_limit_fen,first_selfpay_bp`. Codes are unique; only
    /// class B may carry a first-self-pay ratio (RULES.md §4), so a non-zero ratio on A or C is
    /// refused as a likely data-entry slip rather than silently ignored.
    public static func parseCatalog(_ text: String, file: String = "catalog.csv") throws -> [String: CatalogItem] {
        let reader = CSVReader(file: file)
        var catalog: [String: CatalogItem] = [:]
        for row in try reader.rows(text, header: catalogHeader) {
            let code = try reader.code(row, 0, "code")
            let name = try reader.text(row, 1, "name")
            let itemClass = try reader.enumeration(row, 2, "class", as: ItemClass.self)
            let unit = try reader.text(row, 3, "unit")
            let limit = try reader.integer(row, 4, "price_limit_fen", in: 0...Pricing.maxPrice)
            let bp = try reader.integer(row, 5, "first_selfpay_bp", in: 0...10_000)
            if itemClass != .b && bp != 0 {
                throw reader.error(row, "first_selfpay_bp must be 0 for class \(itemClass.rawValue)")
            }
            let traced = try reader.flag(row, 6, "traced")
            guard catalog[code] == nil else { throw reader.error(row, "duplicate code `\(code)`") }
            catalog[code] = CatalogItem(code: code, name: name, itemClass: itemClass, unit: unit,
                                        priceLimit: limit, firstSelfPayBP: bp, traced: traced)
        }
        return catalog
    }

    /// policy.csv: one row per (insurance, visit, level), unique; the level must fit the visit
    /// type (0 for pharmacy, 1–3 for outpatient and inpatient).
    public static func parsePolicies(_ text: String, file: String = "policy.csv") throws -> [PolicyKey: Policy] {
        let reader = CSVReader(file: file)
        var policies: [PolicyKey: Policy] = [:]
        for row in try reader.rows(text, header: policyHeader) {
            let insurance = try reader.enumeration(row, 0, "insurance", as: InsuranceType.self)
            let visit = try reader.enumeration(row, 1, "visit", as: VisitType.self)
            let level = Int(try reader.integer(row, 2, "level", in: 0...3))
            guard visit.levels.contains(level) else {
                throw reader.error(row, "level \(level) does not fit visit type \(visit.rawValue)")
            }
            let deductible = try reader.integer(row, 3, "deductible_fen", in: 0...Pricing.maxMoney)
            let scope = try reader.enumeration(row, 4, "deductible_scope", as: DeductibleScope.self)
            let ratio = try reader.integer(row, 5, "fund_ratio_bp", in: 0...10_000)
            let ceiling = try reader.integer(row, 6, "annual_ceiling_fen", in: 0...Pricing.maxMoney)
            let paysFull = try reader.flag(row, 7, "account_pays_full")
            let policy = Policy(insurance: insurance, visit: visit, level: level, deductible: deductible,
                                deductibleScope: scope, fundRatioBP: ratio, annualCeiling: ceiling,
                                accountPaysFull: paysFull)
            guard policies[policy.key] == nil else {
                throw reader.error(row, "duplicate policy for \(insurance.rawValue),\(visit.rawValue),\(level)")
            }
            policies[policy.key] = policy
        }
        return policies
    }

    /// benefits.csv: one row per insurance type.
    public static func parseBenefits(_ text: String, file: String = "benefits.csv") throws -> [InsuranceType: Benefit] {
        let reader = CSVReader(file: file)
        var benefits: [InsuranceType: Benefit] = [:]
        for row in try reader.rows(text, header: benefitHeader) {
            let insurance = try reader.enumeration(row, 0, "insurance", as: InsuranceType.self)
            let benefit = Benefit(insurance: insurance,
                                  illnessThreshold: try reader.integer(row, 1, "illness_threshold_fen", in: 0...Pricing.maxMoney),
                                  illnessRatioBP: try reader.integer(row, 2, "illness_ratio_bp", in: 0...10_000),
                                  illnessCeiling: try reader.integer(row, 3, "illness_ceiling_fen", in: 0...Pricing.maxMoney),
                                  assistRatioBP: try reader.integer(row, 4, "assist_ratio_bp", in: 0...10_000),
                                  assistCeiling: try reader.integer(row, 5, "assist_ceiling_fen", in: 0...Pricing.maxMoney))
            guard benefits[insurance] == nil else { throw reader.error(row, "duplicate benefit row for \(insurance.rawValue)") }
            benefits[insurance] = benefit
        }
        return benefits
    }
}
