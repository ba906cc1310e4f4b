import PropertyBased
import Testing
@testable import MedsettleCore

/// RULES.md §8 and §12: the serious-illness and assistance layers after the basic fund, worked by
/// hand and as properties over random claims.
@Suite("Benefit layers")
struct LayerTests {
    /// Resident, outpatient at a level-1 hospital: no deductible, 50 %, a 40 000 ceiling.
    static let resOut1 = Fixtures.policy(.resident, .outpatient, 1)
    /// The demo benefit row of residents: 1 500 000 threshold, 60 %, 40 000 000; assistance 70 %, 5 000 000.
    static let resident = Benefit(insurance: .resident, illnessThreshold: 1_500_000, illnessRatioBP: 6000, illnessCeiling: 40_000_000,
                                  assistRatioBP: 7000, assistCeiling: 5_000_000)

    static func price(_ items: String, _ policy: Policy = resOut1, benefit: Benefit? = resident, year: LayerYear = LayerYear(),
                      fundPaid: Fen = 0, assist: Bool = false, balance: Fen = 0) throws -> Split {
        let input = PricingInput(lines: Fixtures.lines(items), policy: policy, deductibleMet: 0, fundPaidThisYear: fundPaid,
                                 balance: balance, benefit: benefit, layerYear: year, assist: assist)
        return try Pricing.price(input, catalog: Fixtures.catalog).get().split
    }

    @Test func workedByHand() throws {
        // 1000 blood tests at their 2000 limit: 2 000 000 in scope. Pool: 50 % capped by the
        // 40 000 ceiling. Burden 1 960 000; 460 000 over the threshold, 60 %: 276 000.
        // Assistance: 70 % of (1 960 000 − 276 000) = 1 178 800.
        let split = try Self.price("S004*1000@2000", assist: true)
        #expect(split.pool == 40_000 && split.illness == 276_000 && split.assist == 1_178_800)
        #expect(split.fund == 1_494_800 && split.cash == 505_200 && split.aid == 0)
        // Without the flag no assistance; the year's burden already over the threshold: all of a
        // second claim's burden is over it.
        #expect(try Self.price("S004*1000@2000").assist == 0)
        let second = try Self.price("S004*1000@2000", year: LayerYear(burden: 1_960_000, illnessPaid: 276_000), fundPaid: 40_000)
        #expect(second.pool == 0 && second.illness == 1_200_000 && second.burden == 2_000_000)
    }

    @Test func layersPayNothingAtAPharmacyOrWithoutABenefitRow() throws {
        let pharmacy = try Self.price("A001*2@1250", Fixtures.policy(.resident, .pharmacy, 0), assist: true)
        #expect(pharmacy.illness == 0 && pharmacy.assist == 0)
        let none = try Self.price("S004*1000@2000", benefit: nil, assist: true)
        #expect(none.illness == 0 && none.assist == 0 && none.pool == 40_000)
    }

    /// §12: a remainder never goes negative (a new version may lower a ceiling below what was paid).
    @Test func remaindersNeverGoNegative() throws {
        let lowered = Benefit(insurance: .resident, illnessThreshold: 0, illnessRatioBP: 6000, illnessCeiling: 100,
                              assistRatioBP: 7000, assistCeiling: 100)
        let split = try Self.price("S004*10@2000", benefit: lowered, year: LayerYear(burden: 50_000, illnessPaid: 5_000, assistPaid: 5_000),
                                   assist: true)
        #expect(split.illness == 0 && split.assist == 0)
    }

    /// A claim's accumulators delta, added and taken back, leave the year as it was, and the same
    /// claim then prices the same again.
    @Test func undoingRestoresTheYear() throws {
        let year = LayerYear(burden: 1_000_000, illnessPaid: 0)
        let first = try Self.price("S004*1000@2000", year: year, assist: true)
        let delta = Accumulators.delta(of: first, visit: .outpatient)
        let before = Accumulators(burden: year.burden)
        #expect((before + delta) - delta == before)
        #expect(try Self.price("S004*1000@2000", year: year, assist: true) == first)
    }

    // MARK: - Properties

    static let items = ["A001", "A002", "B001", "B003", "C001", "S001", "S003", "S004", "S005", "S006", "TA0", "TB10"]

    /// Every figure ≥ 0, `fund = pool + illness + assist`, `total = fund + account + aid + cash`,
    /// whatever the policy, benefit row, year so far, flag and balance.
    @Test func theSplitAddsUpForAnyClaim() async {
        let claim = zip(Gen.int(in: 0..<Self.items.count), Gen.int(in: 1...500), Gen.int(in: 0...900_000))
        await propertyCheck(count: 300, input: claim.array(of: 1...6), Gen.int(in: 0...8), Gen.int(in: 0...4_000_000),
                            Gen.int(in: 0...10_000), Gen.bool) { lines, policyIndex, priorBurden, ratio, assist in
            let text = lines.map { "\(Self.items[$0.0])*\($0.1)@\($0.2)" }.joined(separator: ";")
            let insurance = InsuranceType.allCases[policyIndex % 3]
            let visit: VisitType = [.pharmacy, .outpatient, .inpatient][policyIndex / 3]
            let policy = Fixtures.policy(insurance, visit, visit == .pharmacy ? 0 : 2)
            let benefit = Benefit(insurance: insurance, illnessThreshold: 1_500_000, illnessRatioBP: Int64(ratio), illnessCeiling: 3_000_000,
                                  assistRatioBP: Int64(10_000 - ratio), assistCeiling: 2_000_000)
            let year = LayerYear(burden: Int64(priorBurden), illnessPaid: Int64(priorBurden / 4), assistPaid: Int64(priorBurden / 8))
            guard let split = try? Self.price(text, policy, benefit: benefit, year: year, assist: assist, balance: 123_456) else { return }
            #expect([split.pool, split.illness, split.assist, split.account, split.aid, split.cash].allSatisfy { $0 >= 0 })
            #expect(split.fund == split.pool + split.illness + split.assist)
            #expect(split.total == split.fund + split.account + split.aid + split.cash)
            #expect(split.illness + split.assist <= split.burden)
            if visit == .pharmacy { #expect(split.illness == 0 && split.assist == 0) }
        }
    }

    /// Over a year, the illness layer does not depend on how the burden was split into claims,
    /// until a ceiling binds — up to the rounding of each claim: RULES.md §8 floors each claim's
    /// share (`floor(over × ratio)`), so n claims may pay up to n − 1 fen less than one claim of
    /// their whole burden.
    @Test func theIllnessLayerDoesNotDependOnHowTheYearWasSplit() async {
        // Class A without a limit, a policy whose pool pays nothing: each claim's burden is its total.
        let policy = Policy(insurance: .resident, visit: .outpatient, level: 1, deductible: 0, deductibleScope: .year, fundRatioBP: 0,
                            annualCeiling: 0, accountPaysFull: false)
        await propertyCheck(count: 200, input: Gen.int(in: 1...400_000).array(of: 1...12), Gen.int(in: 0...10_000)) { amounts, ratio in
            let benefit = Benefit(insurance: .resident, illnessThreshold: 1_000_000, illnessRatioBP: Int64(ratio),
                                  illnessCeiling: 900_000_000, assistRatioBP: 0, assistCeiling: 0)
            var year = LayerYear()
            var paid: Fen = 0
            for amount in amounts {
                guard let split = try? Self.price("TA0*1@\(amount)", policy, benefit: benefit, year: year) else { return }
                paid += split.illness
                year.burden += split.burden
                year.illnessPaid += split.illness
            }
            let total = amounts.reduce(0, +)
            guard let whole = try? Self.price("TA0*1@\(total)", policy, benefit: benefit) else { return }
            #expect(paid <= whole.illness && whole.illness - paid <= Fen(amounts.count - 1), "\(amounts) at \(ratio) bp")
            if ratio == 10_000 || ratio == 0 { #expect(paid == whole.illness) }
        }
    }
}
