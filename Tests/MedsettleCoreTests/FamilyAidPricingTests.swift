import PropertyBased
import Testing
@testable import MedsettleCore

/// RULES.md §9 in the pure core: the family payer's account pays what the member's own account
/// would have paid had it held enough, never more than the payer holds.
@Suite("Family mutual aid")
struct FamilyAidPricingTests {
    static func price(_ items: String, _ policy: Policy, balance: Fen, payerBalance: Fen?, useAccount: Bool = true) throws -> Split {
        let input = PricingInput(lines: Fixtures.lines(items), policy: policy, deductibleMet: 0, fundPaidThisYear: 0,
                                 balance: balance, useAccount: useAccount, payerBalance: payerBalance)
        return try Pricing.price(input, catalog: Fixtures.catalog).get().split
    }

    static let residentPharmacy = Fixtures.policy(.resident, .pharmacy, 0)
    static let employeePharmacy = Fixtures.policy(.employee, .pharmacy, 0)

    @Test func workedByHand() throws {
        // 5 500 in all: 3 000 of class C (self-paid in full, which the accounts do not pay here),
        // 2 500 in scope. A resident has no account: the payer pays the 2 500.
        let resident = try Self.price("A001*2@1250;C001*1@3000", Self.residentPharmacy, balance: 0, payerBalance: 10_000)
        #expect(resident.account == 0 && resident.aid == 2_500 && resident.cash == 3_000)
        // An employee's own account pays first; the payer what it lacked.
        let employee = try Self.price("A001*2@1250;C001*1@3000", Self.employeePharmacy, balance: 1_000, payerBalance: 10_000)
        #expect(employee.account == 1_000 && employee.aid == 1_500 && employee.cash == 3_000)
        // Never more than the payer holds; the rest in cash.
        let short = try Self.price("A001*2@1250", Self.residentPharmacy, balance: 0, payerBalance: 700)
        #expect(short.aid == 700 && short.cash == 1_800)
        // Without a payer, or with use_account=0, no aid.
        #expect(try Self.price("A001*2@1250", Self.residentPharmacy, balance: 0, payerBalance: nil).aid == 0)
        let cashOnly = try Self.price("A001*2@1250", Self.employeePharmacy, balance: 5_000, payerBalance: 5_000, useAccount: false)
        #expect(cashOnly.account == 0 && cashOnly.aid == 0 && cashOnly.cash == 2_500)
    }

    /// For any claim and balances: `total = fund + account + aid + cash`, every figure ≥ 0, aid
    /// within the payer's balance, and the two accounts together pay what one account holding
    /// both balances would have paid.
    @Test func theAccountsTogetherPayWhatOneWould() async {
        let claim = zip(Gen.int(in: 0..<LayerTests.items.count), Gen.int(in: 1...50), Gen.int(in: 0...90_000))
        await propertyCheck(count: 300, input: claim.array(of: 1...5), Gen.int(in: 0...8), Gen.int(in: 0...200_000),
                            Gen.int(in: 0...200_000), Gen.bool) { lines, policyIndex, own, payer, useAccount in
            let text = lines.map { "\(LayerTests.items[$0.0])*\($0.1)@\($0.2)" }.joined(separator: ";")
            let insurance = InsuranceType.allCases[policyIndex % 3]
            let visit: VisitType = [.pharmacy, .outpatient, .inpatient][policyIndex / 3]
            let policy = Fixtures.policy(insurance, visit, visit == .pharmacy ? 0 : 2)
            let balance = insurance.hasAccount ? Fen(own) : 0
            guard let split = try? Self.price(text, policy, balance: balance, payerBalance: Fen(payer), useAccount: useAccount) else { return }
            #expect([split.account, split.aid, split.cash].allSatisfy { $0 >= 0 })
            #expect(split.total == split.fund + split.account + split.aid + split.cash)
            #expect(split.aid <= Fen(payer))
            if !useAccount { #expect(split.account == 0 && split.aid == 0) }
            // One account holding both balances (a resident's own holds nothing).
            let payable = split.total - split.fund - (policy.accountPaysFull ? 0 : split.selfpayFull)
            #expect(split.account + split.aid == (useAccount ? min(payable, balance + Fen(payer)) : 0))
        }
    }
}
