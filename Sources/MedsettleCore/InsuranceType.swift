/// The insurance schemes of RULES.md §1. The raw value is the wire and CSV word.
public enum InsuranceType: String, Sendable, CaseIterable, Hashable {
    /// 在职职工: urban employee basic medical insurance.
    case employee
    /// 退休人员: retired employee.
    case retiree
    /// 城乡居民: urban and rural resident scheme.
    case resident

    /// Whether the scheme has a personal medical account (个人账户). Residents have none: their
    /// balance is always 0 and nothing may credit it (RULES.md §1), so `CREDIT` answers
    /// `NO_ACCOUNT` and pricing never debits an account for them.
    public var hasAccount: Bool { self != .resident }
}

/// What kind of care a claim pays for; it picks the policy row together with the insurance type
/// and the institution level (RULES.md §4). The raw value is the wire and CSV word.
public enum VisitType: String, Sendable, CaseIterable, Hashable {
    /// 定点药店购药: buying at a designated pharmacy (institution level 0).
    case pharmacy
    /// 门诊: a hospital outpatient visit (level 1–3).
    case outpatient
    /// 住院: a hospital stay, settled at discharge (level 1–3).
    case inpatient

    /// The institution levels this visit type can occur at: pharmacies are level 0, hospitals 1–3.
    public var levels: ClosedRange<Int> { self == .pharmacy ? 0...0 : 1...3 }
}
