/// What one person has used up in one scope (RULES.md §4, §8). The store keeps these per
/// (person, calendar year, visit type), and an admission-scope deductible per admission; this type
/// only says how a settlement moves them, so settle and cancel/reverse agree.
public struct Accumulators: Sendable, Equatable, Hashable {
    public var deductibleMet: Fen
    /// What the basic fund paid (its annual ceiling counts pool payments only).
    public var fundPaid: Fen
    /// The burden (`inscope − pool`) of outpatient and inpatient settlements (RULES.md §8).
    public var burden: Fen
    /// What the serious-illness layer paid.
    public var illnessPaid: Fen
    /// What medical assistance paid.
    public var assistPaid: Fen

    public init(deductibleMet: Fen = 0, fundPaid: Fen = 0, burden: Fen = 0, illnessPaid: Fen = 0, assistPaid: Fen = 0) {
        self.deductibleMet = deductibleMet
        self.fundPaid = fundPaid
        self.burden = burden
        self.illnessPaid = illnessPaid
        self.assistPaid = assistPaid
    }

    /// What settling `split` for `visit` adds: the deductible and the pool always; the burden
    /// and the layers for outpatient and inpatient claims only (pharmacy claims are outside §8).
    public static func delta(of split: Split, visit: VisitType) -> Accumulators {
        let layered = visit != .pharmacy
        return Accumulators(deductibleMet: split.deductible, fundPaid: split.pool, burden: layered ? split.burden : 0,
                            illnessPaid: split.illness, assistPaid: split.assist)
    }

    /// Bounded by the policy (deductibles and ceilings ≤ `Pricing.maxMoney`) and by claim totals,
    /// far below Int64's reach.
    public static func + (a: Accumulators, b: Accumulators) -> Accumulators {
        Accumulators(deductibleMet: a.deductibleMet + b.deductibleMet, fundPaid: a.fundPaid + b.fundPaid, burden: a.burden + b.burden,
                     illnessPaid: a.illnessPaid + b.illnessPaid, assistPaid: a.assistPaid + b.assistPaid)
    }

    /// After undoing what `delta` added: the exact inverse. Never below zero — if it would be, the
    /// store's figures are inconsistent, and we stop.
    public static func - (a: Accumulators, b: Accumulators) -> Accumulators {
        let result = Accumulators(deductibleMet: a.deductibleMet - b.deductibleMet, fundPaid: a.fundPaid - b.fundPaid,
                                  burden: a.burden - b.burden, illnessPaid: a.illnessPaid - b.illnessPaid,
                                  assistPaid: a.assistPaid - b.assistPaid)
        precondition([result.deductibleMet, result.fundPaid, result.burden, result.illnessPaid, result.assistPaid].allSatisfy { $0 >= 0 },
                     "accumulators cannot go below zero")
        return result
    }
}

/// The person's year across outpatient and inpatient claims, as the layers after the basic fund
/// count it (RULES.md §8: per person and calendar year, across both visit types).
public struct LayerYear: Sendable, Equatable, Hashable {
    public var burden: Fen
    public var illnessPaid: Fen
    public var assistPaid: Fen

    public init(burden: Fen = 0, illnessPaid: Fen = 0, assistPaid: Fen = 0) {
        self.burden = burden
        self.illnessPaid = illnessPaid
        self.assistPaid = assistPaid
    }

    /// The layers' share of a year's accumulators, summed over its visit types.
    public init(_ visits: some Sequence<Accumulators>) {
        self.init()
        for year in visits {
            burden += year.burden
            illnessPaid += year.illnessPaid
            assistPaid += year.assistPaid
        }
    }
}
