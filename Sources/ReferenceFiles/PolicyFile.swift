import MedsettleCore

/// The policy files of one policy version (ADMIN.md "Catalog and policy versions"): the policy
/// table and the benefit table, imported together.
public enum PolicyFile {
    public static let policyColumns = [
        "insurance", "visit", "level", "deductible_fen", "deductible_scope", "fund_ratio_bp", "annual_ceiling_fen",
        "account_pays_full",
    ]
    public static let benefitColumns = [
        "insurance", "illness_threshold_fen", "illness_ratio_bp", "illness_ceiling_fen", "assist_ratio_bp", "assist_ceiling_fen",
    ]

    /// Both files: every row valid, and each table complete.
    public static func parse(policy policyText: String, benefits benefitText: String, policyFile: String = "policy.csv",
                             benefitFile: String = "benefits.csv") throws -> (policies: [Policy], benefits: [Benefit]) {
        (try policies(policyText, file: policyFile), try benefits(benefitText, file: benefitFile))
    }

    /// Exactly one row for each (insurance, visit, level) that exists: pharmacy at level 0,
    /// outpatient and inpatient at levels 1–3. A missing row would leave some claims with no
    /// policy to price them, so the file is refused rather than the claims.
    public static func policies(_ text: String, file: String = "policy.csv") throws -> [Policy] {
        let table = try CSVTable(text, file: file, required: policyColumns)
        var lines: [PolicyKey: Int] = [:]
        let policies = try table.records.map { record in
            let insurance = try record.enumeration("insurance", as: InsuranceType.self)
            let visit = try record.enumeration("visit", as: VisitType.self)
            let level = Int(try record.integer("level", in: 0...3))
            guard visit.levels.contains(level) else {
                throw record.error("level \(level) does not fit visit type \(visit.rawValue) (pharmacy 0, outpatient and inpatient 1–3)")
            }
            let policy = Policy(
                insurance: insurance, visit: visit, level: level,
                deductible: try record.integer("deductible_fen", in: 0...Pricing.maxMoney),
                deductibleScope: try record.enumeration("deductible_scope", as: DeductibleScope.self),
                fundRatioBP: try record.integer("fund_ratio_bp", in: 0...10_000),
                annualCeiling: try record.integer("annual_ceiling_fen", in: 0...Pricing.maxMoney),
                accountPaysFull: try record.flag("account_pays_full"))
            if let first = lines.updateValue(record.line, forKey: policy.key) {
                throw record.error("duplicate row for \(name(policy.key)) (first on line \(first))")
            }
            return policy
        }
        for key in allKeys where lines[key] == nil {
            throw ReferenceFileError(file: file, line: lastLine(table), message: "missing the row for \(name(key)): the table needs one row "
                                     + "for each insurance type, visit type and level (\(allKeys.count) rows)")
        }
        return policies
    }

    /// Exactly one row per insurance type.
    public static func benefits(_ text: String, file: String = "benefits.csv") throws -> [Benefit] {
        let table = try CSVTable(text, file: file, required: benefitColumns)
        var lines: [InsuranceType: Int] = [:]
        let benefits = try table.records.map { record in
            let insurance = try record.enumeration("insurance", as: InsuranceType.self)
            let benefit = Benefit(
                insurance: insurance,
                illnessThreshold: try record.integer("illness_threshold_fen", in: 0...Pricing.maxMoney),
                illnessRatioBP: try record.integer("illness_ratio_bp", in: 0...10_000),
                illnessCeiling: try record.integer("illness_ceiling_fen", in: 0...Pricing.maxMoney),
                assistRatioBP: try record.integer("assist_ratio_bp", in: 0...10_000),
                assistCeiling: try record.integer("assist_ceiling_fen", in: 0...Pricing.maxMoney))
            if let first = lines.updateValue(record.line, forKey: insurance) {
                throw record.error("duplicate row for \(insurance.rawValue) (first on line \(first))")
            }
            return benefit
        }
        for insurance in InsuranceType.allCases where lines[insurance] == nil {
            throw ReferenceFileError(file: file, line: lastLine(table),
                                     message: "missing the row for \(insurance.rawValue): the table needs one row per insurance type")
        }
        return benefits
    }

    /// Every (insurance, visit, level) that a claim can ask for.
    public static let allKeys: [PolicyKey] = InsuranceType.allCases.flatMap { insurance in
        VisitType.allCases.flatMap { visit in visit.levels.map { PolicyKey(insurance: insurance, visit: visit, level: $0) } }
    }

    static func name(_ key: PolicyKey) -> String { "\(key.insurance.rawValue),\(key.visit.rawValue),\(key.level)" }

    /// A missing row has no line of its own; the message names the last line read, where the reading stopped.
    static func lastLine(_ table: CSVTable) -> Int { table.records.last?.line ?? 1 }
}
