import Testing
@testable import MSLP
import MedsettleCore

@Suite("Item lists CODE*QTY@PRICE;...")
struct ItemListTests {
    @Test func spec_example() throws {
        let lines = try ItemList.parse("A001*2@1250;C001*0.5@3000").get()
        #expect(lines == [
            ClaimLine(code: "A001", quantity: Quantity(milli: 2000), price: 1250),
            ClaimLine(code: "C001", quantity: Quantity(milli: 500), price: 3000),
        ])
    }

    @Test(arguments: [
        ("X*2@1", 2000),
        ("X*0.5@1", 500),
        ("X*1.250@1", 1250),
        ("X*1.25@1", 1250),
        ("X*0.001@1", 1),
        ("X*0.010@1", 10),
        ("X*9999999.999@1", 9_999_999_999),
        ("X*0001@1", 1000),
    ])
    func quantities(_ text: String, _ milli: Int64) throws {
        #expect(try ItemList.parse(text).get().first?.quantity.milli == milli)
    }

    @Test func codes_and_prices() throws {
        let lines = try ItemList.parse("a-B_9*1@0;" + String(repeating: "Z", count: 20) + "*1@9999999999").get()
        #expect(lines.map(\.code) == ["a-B_9", String(repeating: "Z", count: 20)])
        #expect(lines.map(\.price) == [0, 9_999_999_999])
    }

    @Test(arguments: [
        ("", ""),
        (";", "item line 1"),
        ("A*1@1;", "item line 2: empty line"),
        (";A*1@1", "item line 1: empty line"),
        ("A*1@1;;B*1@1", "item line 2: empty line"),
        ("*1@1", "item line 1: bad code"),
        ("A.1*1@1", "bad code"),
        ("代码*1@1", "bad code"),
        (String(repeating: "Z", count: 21) + "*1@1", "bad code"),
        ("A1@1", "bad code"),
        ("A**1@1", "bad quantity"),
        ("A*@1", "bad quantity"),
        ("A*.5@1", "bad quantity"),
        ("A*5.@1", "bad quantity"),
        ("A*1.2345@1", "more than 3 decimals"),
        ("A*0@1", "positive"),
        ("A*0.000@1", "positive"),
        ("A*00@1", "positive"),
        ("A*-1@1", "bad quantity"),
        ("A*+1@1", "bad quantity"),
        ("A*1e3@1", "item line 1"),
        ("A*1,5@1", "item line 1"),
        ("A*10000000@1", "quantity too large"),
        ("A*1 @1", "item line 1"),
        ("A*1", "item line 1"),
        ("A*1@", "bad price"),
        ("A*1@-1", "bad price"),
        ("A*1@+1", "bad price"),
        ("A*1@1.5", "bad price"),
        ("A*1@12345678901", "price too large"),
        ("A*1@1@2", "bad price"),
        ("A*1@1 ", "bad price"),
        ("B*1@1;A*1@x", "item line 2: bad price"),
    ])
    func refused(_ text: String, _ says: String) throws {
        let e = try #require(ItemList.parse(text).failureValue, "\(text) must fail")
        #expect(e.code == .badRequest)
        #expect(e.message.contains(says), "message was: \(e.message)")
    }

    @Test func two_hundred_lines_pass_and_two_hundred_one_do_not() throws {
        let line = "A001*1@100"
        let ok = Array(repeating: line, count: 200).joined(separator: ";")
        #expect(try ItemList.parse(ok).get().count == 200)

        let tooMany = Array(repeating: line, count: 201).joined(separator: ";")
        #expect(ItemList.parse(tooMany).failureValue?.code == .tooManyItems)
    }

    @Test func count_is_checked_before_lines_are_parsed() {
        // 300 empty lines: refused for their number, not for the first empty line.
        let text = String(repeating: ";", count: 299)
        #expect(ItemList.parse(text).failureValue?.code == .tooManyItems)
        // 200 lines whose first is bad: an ordinary BAD_REQUEST.
        let bad = (["bad"] + Array(repeating: "A*1@1", count: 199)).joined(separator: ";")
        #expect(ItemList.parse(bad).failureValue?.code == .badRequest)
    }

    @Test func encode_is_canonical_and_round_trips() throws {
        let lines = [
            ClaimLine(code: "A001", quantity: Quantity(milli: 2000), price: 1250),
            ClaimLine(code: "C001", quantity: Quantity(milli: 500), price: 3000),
            ClaimLine(code: "x_y-z", quantity: Quantity(milli: 1250), price: 0),
            ClaimLine(code: "Q", quantity: Quantity(milli: 1), price: 7),
        ]
        let text = ItemList.encode(lines)
        #expect(text == "A001*2@1250;C001*0.5@3000;x_y-z*1.25@0;Q*0.001@7")
        #expect(try ItemList.parse(text).get() == lines)
        #expect(ItemList.encode([]) == "")
    }

    @Test func value_error_becomes_a_reply() throws {
        let e = try #require(ItemList.parse("A*0@1").failureValue)
        #expect(text(e.reply(tag: "t9").encoded()) == "t9 ERR BAD_REQUEST msg=item%20line%201:%20quantity%20must%20be%20positive\n")
        #expect(e.failure(tag: "t9").reply == e.reply(tag: "t9"))
    }
}
