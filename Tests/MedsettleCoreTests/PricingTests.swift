import Testing
@testable import MedsettleCore

/// One hand-worked pricing case. `expect` is the split in wire order:
/// total, selfpay_full, selfpay_first, inscope, deductible, fund, account, cash.
struct PricingCase: Sendable, CustomTestStringConvertible {
    let name: String
    let items: String
    let policy: Policy
    var deductibleMet: Fen = 0
    var fundPaid: Fen = 0
    var balance: Fen = 50_000
    var useAccount = true
    let expect: [Fen]
    let balanceAfter: Fen

    var testDescription: String { name }
}

private let empPharmacy = Fixtures.policy(.employee, .pharmacy, 0)
private let empOut3 = Fixtures.policy(.employee, .outpatient, 3)
private let resPharmacy = Fixtures.policy(.resident, .pharmacy, 0)
private let resOut1 = Fixtures.policy(.resident, .outpatient, 1)
private let retIn2 = Fixtures.policy(.retiree, .inpatient, 2)

let pricingCases: [PricingCase] = [
    // The PROTOCOL.md example. A001 2 × 1250 = 2500 (limit 1500 not exceeded), class A: in scope.
    // C001 1 × 3000 = 3000, class C: fully self-paid. total 5500, inscope 2500. Pharmacy policy:
    // deductible 0, ratio 0 → fund 0; personal 5500; account = min(5500 − 3000, 50000) = 2500;
    // cash 3000; balance 50000 − 2500 = 47500.
    PricingCase(name: "spec example", items: "A001*2@1250;C001*1@3000", policy: empPharmacy,
                expect: [5500, 3000, 0, 2500, 0, 0, 2500, 3000], balanceAfter: 47500),
    // Class A alone: A002 3 × 1000 = 3000, all in scope; account pays all 3000.
    PricingCase(name: "class A", items: "A002*3@1000", policy: empPharmacy,
                expect: [3000, 0, 0, 3000, 0, 0, 3000, 0], balanceAfter: 47000),
    // Class B: B001 1 × 3000 (limit 3500 not exceeded), first = round(3000 × 1000/10000) = 300,
    // inscope 2700. The first self-paid share is not "fully self-paid", so the account pays it:
    // account = min(3000 − 0, 50000) = 3000.
    PricingCase(name: "class B", items: "B001*1@3000", policy: empPharmacy,
                expect: [3000, 0, 300, 2700, 0, 0, 3000, 0], balanceAfter: 47000),
    // Class C alone: C002 2 × 1500 = 3000, all fully self-paid; account may not pay it → cash.
    PricingCase(name: "class C", items: "C002*2@1500", policy: empPharmacy,
                expect: [3000, 3000, 0, 0, 0, 0, 0, 3000], balanceAfter: 50000),
    // A over limit: A001 2 × 1800 = 3600; limit 1500: round(2 × 1500) = 3000, over = 600 fully
    // self-paid, inscope 3000; account = min(3600 − 600, 50000) = 3000, cash 600.
    PricingCase(name: "A over limit", items: "A001*2@1800", policy: empPharmacy,
                expect: [3600, 600, 0, 3000, 0, 0, 3000, 600], balanceAfter: 47000),
    // B over limit: B003 1 × 3300, limit 3000 → over 300, base 3000; first = 3000 × 500/10000 = 150;
    // inscope 2850; account = 3300 − 300 = 3000, cash 300.
    PricingCase(name: "B over limit", items: "B003*1@3300", policy: empPharmacy,
                expect: [3300, 300, 150, 2850, 0, 0, 3000, 300], balanceAfter: 47000),
    // Price exactly at the limit is not over it: A001 1 × 1500 → all in scope.
    PricingCase(name: "price at limit", items: "A001*1@1500", policy: empPharmacy,
                expect: [1500, 0, 0, 1500, 0, 0, 1500, 0], balanceAfter: 48500),
    // First self-pay at exactly half a fen: TB10 1 × 5: 5 × 1000/10000 = 0.5 → 1; inscope 4.
    PricingCase(name: "first self-pay half fen rounds up", items: "TB10*1@5", policy: empPharmacy,
                expect: [5, 0, 1, 4, 0, 0, 5, 0], balanceAfter: 49995),
    // Below half: TB10 1 × 4: 0.4 → 0. And 1.5 → 2 on TB10 1 × 15.
    PricingCase(name: "first self-pay below half rounds down", items: "TB10*1@4", policy: empPharmacy,
                expect: [4, 0, 0, 4, 0, 0, 4, 0], balanceAfter: 49996),
    PricingCase(name: "first self-pay 1.5 rounds to 2", items: "TB10*1@15", policy: empPharmacy,
                expect: [15, 0, 2, 13, 0, 0, 15, 0], balanceAfter: 49985),
    // First self-pay is per line, rounded per line: two TB10 lines of 5 → 1 + 1 = 2 (not round(1.0)).
    PricingCase(name: "first self-pay rounded per line", items: "TB10*1@5;TB10*1@5", policy: empPharmacy,
                expect: [10, 0, 2, 8, 0, 0, 10, 0], balanceAfter: 49990),
    // 100 % first self-pay: TB100 1 × 777 → first 777, inscope 0.
    PricingCase(name: "B at 100 percent", items: "TB100*1@777", policy: empPharmacy,
                expect: [777, 0, 777, 0, 0, 0, 777, 0], balanceAfter: 49223),
    // Quantity with 3 decimals, half fen: A001 1.5 × 1001 = 1501.5 → 1502.
    PricingCase(name: "decimal quantity half fen", items: "A001*1.5@1001", policy: empPharmacy,
                expect: [1502, 0, 0, 1502, 0, 0, 1502, 0], balanceAfter: 48498),
    // A001 0.333 × 1250 = 416.25 → 416; C001 0.001 × 500 = 0.5 → 1 (fully self-paid).
    PricingCase(name: "three decimals", items: "A001*0.333@1250;C001*0.001@500", policy: empPharmacy,
                expect: [417, 1, 0, 416, 0, 0, 416, 1], balanceAfter: 49584),
    // Over limit with a decimal quantity: A001 0.5 × 1601 = 800.5 → 801; 0.5 × 1500 = 750;
    // over 51, inscope 750.
    PricingCase(name: "decimal over limit", items: "A001*0.5@1601", policy: empPharmacy,
                expect: [801, 51, 0, 750, 0, 0, 750, 51], balanceAfter: 49250),
    // Over limit but the rounded amounts coincide: A001 0.333 × 1501 = 499.833 → 500;
    // 0.333 × 1500 = 499.5 → 500; over 0.
    PricingCase(name: "over limit rounds to zero", items: "A001*0.333@1501", policy: empPharmacy,
                expect: [500, 0, 0, 500, 0, 0, 500, 0], balanceAfter: 49500),
    // Outpatient employee level 3 (deductible 20000, ratio 5000, ceiling 300000).
    // S004 15 × 2000 = 30000 in scope; deductible min(30000, 20000) = 20000 (crossed within the
    // claim); fund floor(10000 × 0.5) = 5000; personal 25000; account 25000; cash 0.
    PricingCase(name: "deductible crossed within the claim", items: "S004*15@2000", policy: empOut3,
                expect: [30000, 0, 0, 30000, 20000, 5000, 25000, 0], balanceAfter: 25000),
    // Same claim with 15000 already met: left 5000; fund floor(25000 × 0.5) = 12500; personal 17500.
    PricingCase(name: "deductible partly met before", items: "S004*15@2000", policy: empOut3, deductibleMet: 15000,
                expect: [30000, 0, 0, 30000, 5000, 12500, 17500, 0], balanceAfter: 32500),
    // Deductible fully met (and over-met data is harmless): deductible 0, fund 15000.
    PricingCase(name: "deductible already met", items: "S004*15@2000", policy: empOut3, deductibleMet: 25000,
                expect: [30000, 0, 0, 30000, 0, 15000, 15000, 0], balanceAfter: 35000),
    // A claim smaller than the deductible left: S004 1 × 2000: all to the deductible, fund 0.
    PricingCase(name: "claim inside the deductible", items: "S004*1@2000", policy: empOut3,
                expect: [2000, 0, 0, 2000, 2000, 0, 2000, 0], balanceAfter: 48000),
    // Fund floors: S004 1 × 1999 after the deductible: 1999 × 0.5 = 999.5 → 999; personal 1000.
    PricingCase(name: "fund is floored", items: "S004*1@1999", policy: empOut3, deductibleMet: 20000,
                expect: [1999, 0, 0, 1999, 0, 999, 1000, 0], balanceAfter: 49000),
    // Ceiling partly left: 299000 paid → 1000 left; fund min(15000, 1000) = 1000; personal 29000.
    PricingCase(name: "ceiling partly left", items: "S004*15@2000", policy: empOut3, deductibleMet: 20000,
                fundPaid: 299_000, expect: [30000, 0, 0, 30000, 0, 1000, 29000, 0], balanceAfter: 21000),
    // Ceiling reached: fund 0; and past it (bad data) still 0, never negative.
    PricingCase(name: "ceiling reached", items: "S004*15@2000", policy: empOut3, deductibleMet: 20000,
                fundPaid: 300_000, expect: [30000, 0, 0, 30000, 0, 0, 30000, 0], balanceAfter: 20000),
    PricingCase(name: "ceiling exceeded", items: "S004*15@2000", policy: empOut3, deductibleMet: 20000,
                fundPaid: 350_000, expect: [30000, 0, 0, 30000, 0, 0, 30000, 0], balanceAfter: 20000),
    // Account smaller than the personal share: the spec claim with balance 1000 → account 1000,
    // cash 5500 − 1000 = 4500, balance 0.
    PricingCase(name: "account smaller than personal", items: "A001*2@1250;C001*1@3000", policy: empPharmacy,
                balance: 1000, expect: [5500, 3000, 0, 2500, 0, 0, 1000, 4500], balanceAfter: 0),
    // use_account=0: all personal in cash, balance untouched.
    PricingCase(name: "use account false", items: "A001*2@1250;C001*1@3000", policy: empPharmacy,
                useAccount: false, expect: [5500, 3000, 0, 2500, 0, 0, 0, 5500], balanceAfter: 50000),
    // Resident at a pharmacy: no account (balance 0) → all cash.
    PricingCase(name: "resident pharmacy", items: "A001*2@1250;C001*1@3000", policy: resPharmacy, balance: 0,
                expect: [5500, 3000, 0, 2500, 0, 0, 0, 5500], balanceAfter: 0),
    // Resident outpatient level 1 (deductible 0, ratio 5000): S004 2000 + C001 3000; inscope 2000,
    // fund 1000; personal 4000, all cash.
    PricingCase(name: "resident outpatient", items: "S004*1@2000;C001*1@3000", policy: resOut1, balance: 0,
                expect: [5000, 3000, 0, 2000, 0, 1000, 0, 4000], balanceAfter: 0),
    // account_pays_full = 1: the account may pay the class C part too: min(5500, 50000) = 5500.
    PricingCase(name: "account pays full", items: "A001*2@1250;C001*1@3000", policy: Fixtures.payingFull(empPharmacy),
                expect: [5500, 3000, 0, 2500, 0, 0, 5500, 0], balanceAfter: 44500),
    // … limited by the balance: min(5500, 4000) = 4000, cash 1500.
    PricingCase(name: "account pays full, small balance", items: "A001*2@1250;C001*1@3000",
                policy: Fixtures.payingFull(empPharmacy), balance: 4000,
                expect: [5500, 3000, 0, 2500, 0, 0, 4000, 1500], balanceAfter: 0),
    // Retiree inpatient level 2 (deductible 60000, ratio 9000):
    //   S001 10 × 4500 = 45000, limit 4000 → 40000 in scope, over 5000;
    //   S005 1 × 28000 (at limit), B 10 % → first 2800, inscope 25200;
    //   S007 10 × 500 = 5000, class C;
    //   S006 1 × 700000 (at limit), B 30 % → first 210000, inscope 490000.
    // total 778000; full 10000; first 212800; inscope 555200; deductible 60000;
    // fund floor(495200 × 0.9) = 445680; personal 332320; account min(332320 − 10000, 100000) = 100000;
    // cash 232320.
    PricingCase(name: "retiree inpatient mixed", items: "S001*10@4500;S005*1@28000;S007*10@500;S006*1@700000",
                policy: retIn2, balance: 100_000,
                expect: [778_000, 10_000, 212_800, 555_200, 60_000, 445_680, 100_000, 232_320], balanceAfter: 0),
    // An empty claim prices to zeros (the protocol refuses it earlier; pricing stays total).
    PricingCase(name: "no lines", items: "", policy: empOut3,
                expect: [0, 0, 0, 0, 0, 0, 0, 0], balanceAfter: 50000),
]

@Suite("Pricing (RULES.md §4)")
struct PricingTests {
    @Test(arguments: pricingCases)
    func split(_ c: PricingCase) throws {
        let input = PricingInput(lines: Fixtures.lines(c.items), policy: c.policy, deductibleMet: c.deductibleMet,
                                 fundPaidThisYear: c.fundPaid, balance: c.balance, useAccount: c.useAccount)
        let priced = try Pricing.price(input, catalog: Fixtures.catalog).get()
        let s = priced.split
        #expect([s.total, s.selfpayFull, s.selfpayFirst, s.inscope, s.deductible, s.fund, s.account, s.cash] == c.expect)
        #expect(priced.balanceAfter == c.balanceAfter)
        #expect(s.total == s.fund + s.account + s.cash)
        #expect(priced.lines.count == input.lines.count)
        #expect(priced.lines.map(\.amount).reduce(0, +) == s.total)
        #expect(priced.lines.map(\.inscope).reduce(0, +) == s.inscope)
    }

    @Test func wireFieldsInOrder() throws {
        let input = PricingInput(lines: Fixtures.lines("A001*2@1250;C001*1@3000"), policy: empPharmacy,
                                 deductibleMet: 0, fundPaidThisYear: 0, balance: 50_000)
        let split = try Pricing.price(input, catalog: Fixtures.catalog).get().split
        let wire = split.fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        #expect(wire == "total=5500 selfpay_full=3000 selfpay_first=0 inscope=2500 deductible=0 fund=0 account=2500 cash=3000 pool=0 illness=0 assist=0 aid=0")
        #expect(split.fields.map(\.0) == Split.fieldNames)
    }

    @Test func perLineFigures() throws {
        // B003 1 × 3300: over 300, first 150, inscope 2850 (see "B over limit").
        let line = Fixtures.lines("B003*1@3300")[0]
        let priced = try Pricing.priceLine(line, item: Fixtures.catalog["B003"]!).get()
        #expect(priced.amount == 3300 && priced.selfpayFull == 300 && priced.selfpayFirst == 150)
        #expect(priced.inscope == 2850 && priced.itemClass == .b)
    }

    @Test func unknownItemNamesTheFirstUnknownCode() {
        let input = PricingInput(lines: Fixtures.lines("A001*1@100;Z999*1@100;Y888*1@1"), policy: empPharmacy,
                                 deductibleMet: 0, fundPaidThisYear: 0, balance: 0)
        #expect(Pricing.price(input, catalog: Fixtures.catalog) == .failure(.unknownItem(code: "Z999")))
    }

    @Test func unknownItemBeatsAmountTooLarge() {
        let lines = [ClaimLine(code: "A001", quantity: Quantity(milli: 1000), price: 10_000_000_000),
                     ClaimLine(code: "NOPE", quantity: Quantity(milli: 1000), price: 1)]
        let input = PricingInput(lines: lines, policy: empPharmacy, deductibleMet: 0, fundPaidThisYear: 0, balance: 0)
        #expect(Pricing.price(input, catalog: Fixtures.catalog) == .failure(.unknownItem(code: "NOPE")))
    }

    @Test(arguments: [
        (Int64(1000), Fen(10_000_000_000)),        // price above the bound
        (Int64(1000), Fen(-1)),                     // negative price
        (Int64(10_000_000_000), Fen(1)),            // quantity above the bound
    ] as [(Int64, Fen)])
    func outOfBoundsLinesAreRefused(milli: Int64, price: Fen) {
        let input = PricingInput(lines: [ClaimLine(code: "TA0", quantity: Quantity(milli: milli), price: price)],
                                 policy: empPharmacy, deductibleMet: 0, fundPaidThisYear: 0, balance: 0)
        #expect(Pricing.price(input, catalog: Fixtures.catalog) == .failure(.amountTooLarge))
    }

    @Test func largestLineIsExact() throws {
        // 9 999 999 999 thousandths × 9 999 999 999 fen = 99 999 999 980 000 000.001 → …980 000 000
        // (the product needs 67 bits; the 128-bit path keeps it exact).
        let line = ClaimLine(code: "TA0", quantity: Quantity(milli: Pricing.maxQuantityMilli), price: Pricing.maxPrice)
        let input = PricingInput(lines: [line, line], policy: Fixtures.policy(.employee, .outpatient, 1),
                                 deductibleMet: 0, fundPaidThisYear: 0, balance: 0)
        let split = try Pricing.price(input, catalog: Fixtures.catalog).get().split
        #expect(split.total == 2 * 99_999_999_980_000_000)
        // fund = min(floor((total − 20000) × 0.6), ceiling 300000) = 300000
        #expect(split.fund == 300_000 && split.deductible == 20_000)
    }

    @Test func sumOverflowIsRefusedNotTrapped() {
        // 100 maximal lines total ≈ 10^19 fen > Int64.max.
        let line = ClaimLine(code: "TA0", quantity: Quantity(milli: Pricing.maxQuantityMilli), price: Pricing.maxPrice)
        let input = PricingInput(lines: Array(repeating: line, count: 100), policy: empPharmacy,
                                 deductibleMet: 0, fundPaidThisYear: 0, balance: 0)
        #expect(Pricing.price(input, catalog: Fixtures.catalog) == .failure(.amountTooLarge))
    }

    @Test func errorCodes() {
        #expect(PricingError.unknownItem(code: "X").errorCode == .unknownItem)
        #expect(PricingError.amountTooLarge.errorCode == .badRequest)
    }

    @Test func accumulatorsMoveWithTheSplit() throws {
        // Two claims in a row carry the deductible across: the first meets 20000 of it, the
        // second starts from there.
        let lines = Fixtures.lines("S004*15@2000")
        var acc = Accumulators()
        let first = try Pricing.price(PricingInput(lines: Fixtures.lines("S004*5@2000"), policy: empOut3,
                                                   deductibleMet: acc.deductibleMet, fundPaidThisYear: acc.fundPaid,
                                                   balance: 50_000), catalog: Fixtures.catalog).get()
        // 10000 in scope, all to the deductible.
        #expect(first.split.deductible == 10_000 && first.split.fund == 0)
        // Outpatient: the burden (inscope − pool) is counted for the layers after the basic fund.
        #expect(first.accumulatorDelta(visit: .outpatient) == Accumulators(deductibleMet: 10_000, fundPaid: 0, burden: 10_000))
        acc = acc + first.accumulatorDelta(visit: .outpatient)
        let second = try Pricing.price(PricingInput(lines: lines, policy: empOut3, deductibleMet: acc.deductibleMet,
                                                    fundPaidThisYear: acc.fundPaid, balance: first.balanceAfter),
                                       catalog: Fixtures.catalog).get()
        // 30000 in scope; 10000 deductible left; fund floor(20000 × 0.5) = 10000.
        #expect(second.split.deductible == 10_000 && second.split.fund == 10_000)
        acc = acc + second.accumulatorDelta(visit: .outpatient)
        #expect(acc == Accumulators(deductibleMet: 20_000, fundPaid: 10_000, burden: 30_000))
        #expect(acc - second.accumulatorDelta(visit: .outpatient) - first.accumulatorDelta(visit: .outpatient) == Accumulators())
    }

    /// The policy's scope decides what of the year's deductible counts: under `admission`, a claim
    /// starts from what its admission met (nothing, outside one), whatever the year's accumulator says.
    @Test func theDeductibleMetFollowsThePolicysScope() {
        func policy(_ scope: DeductibleScope) -> Policy {
            Policy(insurance: .employee, visit: .outpatient, level: 3, deductible: 20_000, deductibleScope: scope,
                   fundRatioBP: 5_000, annualCeiling: 300_000, accountPaysFull: false)
        }
        #expect(policy(.year).deductibleMet(thisYear: 15_000) == 15_000)
        #expect(policy(.admission).deductibleMet(thisYear: 15_000) == 0)
        #expect(policy(.admission).deductibleMet(thisYear: 15_000, thisAdmission: 5_000) == 5_000)
    }
}
