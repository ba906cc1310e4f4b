import Testing
@testable import MSLP
import MedsettleCore

/// The item-line syntax of PROTOCOL.md revision 1.1: `CODE*QTY@PRICE#TC1,TC2,…`.
@Suite("Item lines with traceability codes")
struct TraceCodeSyntaxTests {
    static let c1 = "81234567890123456789", c2 = "81234567890123456790", c3 = "00000000000000000001"

    @Test func spec_example() throws {
        let lines = try ItemList.parse("A006*2@1800#\(Self.c1),\(Self.c2);C001*1@3000").get()
        #expect(lines == [
            ClaimLine(code: "A006", quantity: Quantity(milli: 2000), price: 1800, traceCodes: [TraceCode(Self.c1)!, TraceCode(Self.c2)!]),
            ClaimLine(code: "C001", quantity: Quantity(milli: 1000), price: 3000),
        ])
    }

    @Test(arguments: [
        "A006*2@1800#\(c1),\(c2)",
        "A006*1@0#\(c3);B005*1@4500#\(c1)",
        "A001*1@100;A006*3@1800#\(c1),\(c2),\(c3);C001*0.5@3000",
    ])
    func round_trips(_ text: String) throws {
        let lines = try ItemList.parse(text).get()
        #expect(ItemList.encode(lines) == text)
        #expect(try ItemList.parse(ItemList.encode(lines)).get() == lines)
    }

    /// The count is the catalog's to check (a line may name another count; the claim is then refused
    /// with BAD_REQUEST after the trace lookup), so the parser takes it.
    @Test func the_count_is_not_a_syntax_matter() throws {
        let lines = try ItemList.parse("A006*3@1800#\(Self.c1)").get()
        #expect(lines[0].traceCodes.count == 1 && lines[0].quantity.milli == 3000)
    }

    @Test(arguments: [
        ("A006*1@1800#", "bad traceability code"),                                          // no code
        ("A006*1@1800#8123456789012345678", "bad traceability code"),                       // 19 digits
        ("A006*1@1800#812345678901234567890", "bad traceability code"),                     // 21 digits
        ("A006*1@1800#8123456789012345678a", "bad traceability code"),
        ("A006*2@1800#\(c1),", "bad traceability code"),                                    // trailing comma
        ("A006*2@1800#\(c1),,\(c2)", "bad traceability code"),
        ("A006*2@1800#\(c1) \(c2)", "bad traceability code"),
        ("A006*2@1800##\(c1)", "bad traceability code"),
        ("A006*1@1800#\(c1)#\(c2)", "bad traceability code"),
        ("A006*2.0@1800#\(c1),\(c2)", "whole quantity without a fraction"),                 // 2.0, not 2
        ("A006*1.5@1800#\(c1)", "whole quantity without a fraction"),
        ("A006*1@#\(c1)", "bad price"),
        ("A006*2@1800#\(c1),\(c1)", "appears twice"),                                       // twice on a line
        ("A006*1@1800#\(c1);B005*1@4500#\(c1)", "appears twice"),                           // twice in the request
    ])
    func refusals_are_bad_requests(_ text: String, _ message: String) {
        guard case .failure(let error) = ItemList.parse(text) else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(error.code == .badRequest)
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test func a_line_of_200_traced_items_fits_the_line_limit() throws {
        let codes = (0..<200).map { String(repeating: "0", count: 20 - String($0).count) + String($0) }
        let text = codes.map { "A006*1@1800#\($0)" }.joined(separator: ";")
        #expect(try ItemList.parse(text).get().count == 200)
        #expect(text.utf8.count < 16_384)
    }
}
