/// Whether a deductible is met once per calendar year or once per hospital admission.
public enum DeductibleScope: String, Sendable, CaseIterable, Hashable {
    case year
    case admission
}

/// Which policy row applies: RULES.md §4 chooses it by insurance type, visit type and the
/// institution's level (0 for pharmacies, 1–3 for hospitals).
public struct PolicyKey: Sendable, Hashable {
    public let insurance: InsuranceType
    public let visit: VisitType
    public let level: Int

    public init(insurance: InsuranceType, visit: VisitType, level: Int) {
        self.insurance = insurance
        self.visit = visit
        self.level = level
    }
}

/// One row of policy.csv: how the fund shares a claim's in-scope amount.
public struct Policy: Sendable, Hashable {
    public let insurance: InsuranceType
    public let visit: VisitType
    public let level: Int
    /// The deductible (起付线) in fen, met once per `deductibleScope`.
    public let deductible: Fen
    public let deductibleScope: DeductibleScope
    /// The fund's share of the in-scope amount above the deductible, in basis points.
    public let fundRatioBP: Int64
    /// The most the fund pays one person per calendar year for this visit type, in fen.
    public let annualCeiling: Fen
    /// Whether the personal account may also pay the fully self-paid part (class C, over-limit).
    public let accountPaysFull: Bool

    public var key: PolicyKey { PolicyKey(insurance: insurance, visit: visit, level: level) }

    /// As with `CatalogItem`, values are validated on load; out-of-range values here are bugs.
    public init(
        insurance: InsuranceType, visit: VisitType, level: Int, deductible: Fen,
        deductibleScope: DeductibleScope, fundRatioBP: Int64, annualCeiling: Fen, accountPaysFull: Bool
    ) {
        precondition(visit.levels.contains(level), "level does not fit the visit type")
        precondition((0...Pricing.maxMoney).contains(deductible), "deductible out of range")
        precondition((0...10_000).contains(fundRatioBP), "fund ratio out of range")
        precondition((0...Pricing.maxMoney).contains(annualCeiling), "annual ceiling out of range")
        self.insurance = insurance
        self.visit = visit
        self.level = level
        self.deductible = deductible
        self.deductibleScope = deductibleScope
        self.fundRatioBP = fundRatioBP
        self.annualCeiling = annualCeiling
        self.accountPaysFull = accountPaysFull
    }
}

extension Policy {
    /// The deductible already met that a claim starts from (RULES.md §4): under a `year` scope,
    /// what the person met this calendar year for this visit type; under an `admission` scope,
    /// what was met within the admission — and a claim outside any admission (outpatient,
    /// pharmacy) is one of its own, so nothing was.
    public func deductibleMet(thisYear: Fen, thisAdmission: Fen = 0) -> Fen {
        switch deductibleScope {
        case .year: return thisYear
        case .admission: return thisAdmission
        }
    }
}
