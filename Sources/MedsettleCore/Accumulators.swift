/// What one person has used up in one scope: deductible met and fund paid (RULES.md §4). The
/// store keeps these per (person, calendar year, visit type), and an admission-scope deductible per
/// admission; this type only says how a settlement moves them, so settle and cancel/reverse agree.
public struct Accumulators: Sendable, Equatable, Hashable {
    public var deductibleMet: Fen
    public var fundPaid: Fen

    public init(deductibleMet: Fen = 0, fundPaid: Fen = 0) {
        self.deductibleMet = deductibleMet
        self.fundPaid = fundPaid
    }

    /// After settling `split`: deductible met += split.deductible, fund paid += split.fund.
    /// Bounded by the policy (a deductible and a ceiling ≤ `Pricing.maxMoney`), so no overflow.
    public func settling(_ split: Split) -> Accumulators {
        Accumulators(deductibleMet: deductibleMet + split.deductible, fundPaid: fundPaid + split.fund)
    }

    /// After cancelling or reversing a settlement of `split`: the exact inverse of `settling`.
    /// Never below zero — if it would be, the store's figures are inconsistent, and we stop.
    public func undoing(_ split: Split) -> Accumulators {
        let result = Accumulators(deductibleMet: deductibleMet - split.deductible, fundPaid: fundPaid - split.fund)
        precondition(result.deductibleMet >= 0 && result.fundPaid >= 0, "accumulators cannot go below zero")
        return result
    }
}
