import Testing
@testable import MedsettleCore

/// Traceability codes in the one claim decision (RULES.md §10): what the catalog requires of a
/// line's codes, and where sold codes come in the order of checks.
@Suite("Traceability codes in ClaimDecision")
struct TraceCodeTests {
    static let c1 = TraceCode("81234567890123456789")!
    static let c2 = TraceCode("81234567890123456790")!
    static let c3 = TraceCode("00000000000000000001")!

    /// A006 and B005 are traced in the demo catalog; A001 is not.
    static func line(_ code: String, milli: Int64, _ codes: [TraceCode] = []) -> ClaimLine {
        ClaimLine(code: code, quantity: Quantity(milli: milli), price: 1800, traceCodes: codes)
    }

    static func decide(_ lines: [ClaimLine], pin: Bool = true, card: CardState = CardState(status: .active, wrongCount: 0),
                       sold: Set<TraceCode> = []) -> ClaimDecision {
        let claimant = ClaimantState(card: card, insurance: .employee, balance: 100_000, year: Accumulators())
        return ClaimDecision.decide(ClaimTerms(lines: lines, visit: .pharmacy, level: 0, useAccount: true),
                                    credential: .pin(matches: pin), claimant: claimant, reference: Fixtures.reference, sold: sold)
    }

    static func badRequest(_ decision: ClaimDecision) -> Bool {
        if case .failure(.traceCodes) = decision.verdict { return decision.presentation == nil }
        return false
    }

    @Test func the_demo_catalog_traces_A006_and_B005() {
        #expect(Fixtures.reference.catalog.values.filter(\.traced).map(\.code).sorted() == ["A006", "B005"])
    }

    @Test func a_traced_line_with_one_code_per_package_is_priced() throws {
        let decision = Self.decide([Self.line("A006", milli: 2000, [Self.c1, Self.c2]), Self.line("A001", milli: 1000)])
        let priced = try decision.verdict.get()
        #expect(priced.split.total == 2 * 1800 + 1800)
        #expect(priced.lines[0].line.traceCodes == [Self.c1, Self.c2])
    }

    @Test(arguments: [
        [line("A006", milli: 2000)],                               // missing codes
        [line("A006", milli: 2000, [c1])],                         // too few
        [line("A006", milli: 1000, [c1, c2])],                     // too many
        [line("A006", milli: 500)],                                // a fractional traced quantity
        [line("A006", milli: 1500, [c1])],                         // fractional, with a code
        [line("A001", milli: 1000, [c1])],                         // codes on an untraced item
    ])
    func catalog_refusals_are_bad_requests_before_the_card(_ lines: [ClaimLine]) {
        // A wrong PIN is not counted: the line is refused before the card is presented.
        let decision = Self.decide(lines, pin: false)
        #expect(Self.badRequest(decision))
    }

    @Test func lines_are_checked_in_request_order_item_before_codes() {
        let unknownFirst = Self.decide([Self.line("ZZZ9", milli: 1000), Self.line("A006", milli: 1000)])
        #expect(unknownFirst.verdict == .failure(.pricing(.unknownItem(code: "ZZZ9"))))
        let codesFirst = Self.decide([Self.line("A006", milli: 1000), Self.line("ZZZ9", milli: 1000)])
        #expect(Self.badRequest(codesFirst))
    }

    @Test func a_sold_code_is_refused_after_the_card_with_the_first_in_request_order() {
        let lines = [Self.line("A006", milli: 2000, [Self.c1, Self.c2]), Self.line("B005", milli: 1000, [Self.c3])]
        let decision = Self.decide(lines, sold: [Self.c3, Self.c2])
        #expect(decision.verdict == .failure(.traceCodeUsed(Self.c2)))
        // The PIN was presented (a right PIN's bookkeeping stands).
        #expect(decision.presentation != nil)
    }

    @Test func a_wrong_pin_with_a_sold_code_counts_the_pin() {
        let decision = Self.decide([Self.line("A006", milli: 1000, [Self.c1])], pin: false, sold: [Self.c1])
        #expect(decision.verdict == .failure(.card(.pinWrong(left: 5))))
        #expect(decision.presentation?.newWrongCount == 1)
    }

    @Test func a_locked_card_with_a_sold_code_answers_the_card() {
        let decision = Self.decide([Self.line("A006", milli: 1000, [Self.c1])], card: CardState(status: .active, wrongCount: 6),
                                   sold: [Self.c1])
        #expect(decision.verdict == .failure(.card(.locked)))
    }

    @Test func codes_sold_elsewhere_do_not_matter() throws {
        let decision = Self.decide([Self.line("A006", milli: 1000, [Self.c1])], sold: [Self.c2])
        #expect(try decision.verdict.get().split.total == 1800)
    }

    @Test func fee_lines_classified_before_carry_no_code_checks() throws {
        // A discharge prices fee lines by their upload day's classification: a traced item without
        // codes is fine there (FEES carries none in this revision).
        let item = try #require(Fixtures.reference.catalog["A006"])
        let terms = ClaimTerms(lines: [Self.line("A006", milli: 1000)], visit: .inpatient, level: 3, useAccount: true,
                               classified: [item.classification])
        let claimant = ClaimantState(card: CardState(status: .active, wrongCount: 0), insurance: .employee, balance: 0, year: Accumulators())
        let decision = ClaimDecision.decide(terms, credential: .pin(matches: true), claimant: claimant, reference: Fixtures.reference)
        #expect(try decision.verdict.get().split.total == 1800)
    }

    @Test(arguments: ["00000000000000000000", "81234567890123456789", "99999999999999999999", "01000000000000000007"])
    func a_code_splits_into_two_integers_and_back(_ digits: String) throws {
        let code = try #require(TraceCode(digits))
        #expect(TraceCode(high: code.high, low: code.low) == code)
        #expect(code.high == Int64(digits.prefix(2))! && code.low == Int64(digits.dropFirst(2))!)
    }

    @Test(arguments: ["", "1234567890123456789", "123456789012345678901", "8123456789012345678a", "８1234567890123456789"])
    func only_twenty_ascii_digits_make_a_code(_ text: String) {
        #expect(TraceCode(text) == nil)
    }
}
