/// One row of the benefit table (benefits.csv): the layers that pay after the basic fund for one
/// insurance type (RULES.md §8). A layer whose ceiling is 0 is off.
public struct Benefit: Sendable, Hashable {
    public let insurance: InsuranceType
    /// Serious-illness insurance (大病保险 / 大额医疗费用补助): pays `illnessRatioBP` of the year's
    /// burden above `illnessThreshold`, up to `illnessCeiling` a year.
    public let illnessThreshold: Fen
    public let illnessRatioBP: Int64
    public let illnessCeiling: Fen
    /// Medical assistance (医疗救助), for people flagged for it: `assistRatioBP` of what is left,
    /// up to `assistCeiling` a year.
    public let assistRatioBP: Int64
    public let assistCeiling: Fen

    /// Values are validated on import; out-of-range values here are bugs.
    public init(insurance: InsuranceType, illnessThreshold: Fen, illnessRatioBP: Int64, illnessCeiling: Fen,
                assistRatioBP: Int64, assistCeiling: Fen) {
        precondition([illnessThreshold, illnessCeiling, assistCeiling].allSatisfy { (0...Pricing.maxMoney).contains($0) },
                     "benefit amount out of range")
        precondition((0...10_000).contains(illnessRatioBP) && (0...10_000).contains(assistRatioBP), "benefit ratio out of range")
        self.insurance = insurance
        self.illnessThreshold = illnessThreshold
        self.illnessRatioBP = illnessRatioBP
        self.illnessCeiling = illnessCeiling
        self.assistRatioBP = assistRatioBP
        self.assistCeiling = assistCeiling
    }
}
