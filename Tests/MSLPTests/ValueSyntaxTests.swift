import Testing
@testable import MSLP
import MedsettleCore

@Suite("Value syntax helpers")
struct ValueSyntaxTests {
    @Test func trace() {
        for ok in ["1", "20261129000017", "a.b_c-D", String(repeating: "9", count: 32)] {
            #expect(ValueSyntax.trace(ok).successValue == ok)
        }
        for bad in ["", String(repeating: "9", count: 33), "a b", "a/b", "追踪", "a+b"] {
            #expect(ValueSyntax.trace(bad).failureValue?.code == .badRequest, "\(bad)")
        }
        #expect(ValueSyntax.trace("").failureValue?.message.hasPrefix("trace") == true)
    }

    @Test func pin() {
        #expect(ValueSyntax.pin("012345").successValue == "012345")
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "+12345", " 12345"] {
            #expect(ValueSyntax.pin(bad).failureValue?.code == .badRequest, "\(bad)")
        }
        #expect(ValueSyntax.pin("1", key: "new").failureValue?.message.hasPrefix("new") == true)
    }

    @Test func card_number() {
        #expect(ValueSyntax.cardNumber("H00000017").successValue == "H00000017")
        for bad in ["", "h00000017", "H0000001", "H000000170", "HH0000001", "100000017", "H0000001a", "Ｈ00000017"] {
            #expect(ValueSyntax.cardNumber(bad).failureValue?.code == .badRequest, "\(bad)")
        }
    }

    @Test func amounts() {
        #expect(ValueSyntax.amount("0").successValue == 0)
        #expect(ValueSyntax.amount("5500").successValue == 5500)
        #expect(ValueSyntax.amount("007").successValue == 7)
        #expect(ValueSyntax.amount("999999999999999").successValue == 999_999_999_999_999)
        for bad in ["", "-1", "+1", "1.0", "1e3", " 1", "1 ", "0x10", "1000000000000000", "٣"] {
            #expect(ValueSyntax.amount(bad).failureValue?.code == .badRequest, "\(bad)")
        }
        #expect(ValueSyntax.positiveAmount("1").successValue == 1)
        #expect(ValueSyntax.positiveAmount("0").failureValue?.message == "amount must be positive")
        #expect(ValueSyntax.positiveAmount("00").failureValue != nil)
        #expect(ValueSyntax.positiveAmount("-5").failureValue != nil)
        #expect(ValueSyntax.unsigned("123", key: "count", maxDigits: 2).failureValue?.message.contains("count") == true)
    }

    @Test func flags() {
        #expect(ValueSyntax.flag("0", key: "use_account").successValue == false)
        #expect(ValueSyntax.flag("1", key: "use_account").successValue == true)
        for bad in ["", "2", "true", "01", "yes"] {
            #expect(ValueSyntax.flag(bad, key: "use_account").failureValue?.message == "use_account must be 0 or 1")
        }
    }

    @Test func dates() throws {
        let d = try ValueSyntax.date("20261129").get()
        #expect((d.year, d.month, d.day) == (2026, 11, 29))
        #expect(d.description == "20261129")
        #expect(d.yyyymmdd == "20261129")
        #expect(ValueSyntax.date("20240229").successValue != nil)
        #expect(ValueSyntax.date("20000229").successValue != nil)
        #expect(ValueSyntax.date("00010101").successValue?.description == "00010101")
        for bad in ["", "2026112", "202611290", "20261131", "20250229", "19000229", "20261300", "20260001",
                    "20260100", "00000101", "2026-11-", "2026112a"] {
            #expect(ValueSyntax.date(bad).failureValue?.code == .badRequest, "\(bad)")
        }
        #expect(try ValueSyntax.date("20261231").get() < ValueSyntax.date("20270101").get())
    }

    enum Insurance: String, CaseIterable { case employee, retiree, resident }

    @Test func one_of() {
        #expect(ValueSyntax.oneOf("terminal", key: "scope", allowed: ["terminal", "institution"]).successValue == "terminal")
        #expect(ValueSyntax.oneOf("Terminal", key: "scope", allowed: ["terminal", "institution"]).failureValue?.message
                == "scope must be one of terminal/institution")
        #expect(ValueSyntax.oneOf("retiree", key: "insurance", as: Insurance.self).successValue == .retiree)
        #expect(ValueSyntax.oneOf("", key: "insurance", as: Insurance.self).failureValue?.message
                == "insurance must be one of employee/retiree/resident")
    }

    @Test func id_numbers() {
        // GB 11643's published example and a computed one.
        #expect(ValueSyntax.idNo("11010519491231002X").successValue != nil)
        #expect(ValueSyntax.idNo("110105194912310021").failureValue?.code == .badIdNo)
        #expect(ValueSyntax.idNo("11010519491231002x").failureValue?.code == .badIdNo)
        #expect(ValueSyntax.idNo("11010519491231002").failureValue?.code == .badIdNo)
        #expect(ValueSyntax.idNo("1101051949123100A2").failureValue?.code == .badIdNo)
        #expect(ValueSyntax.idNo("440524188001010014").successValue != nil)
    }

    @Test func hex() {
        #expect(ValueSyntax.lowerHex("00ff10", key: "mac", byteCount: 3).successValue == [0, 255, 16])
        #expect(ValueSyntax.lowerHex("00FF10", key: "mac", byteCount: 3).failureValue != nil)
        #expect(ValueSyntax.lowerHex("00ff1", key: "mac", byteCount: 3).failureValue != nil)
        #expect(ValueSyntax.lowerHex("00fg10", key: "mac", byteCount: 3).failureValue != nil)
    }

    @Test func text() {
        #expect(ValueSyntax.text("张三", key: "name").successValue == "张三")
        #expect(ValueSyntax.text(String(repeating: "张", count: 64), key: "name").successValue != nil)
        #expect(ValueSyntax.text(String(repeating: "张", count: 65), key: "name").failureValue != nil)
        #expect(ValueSyntax.text("", key: "name").failureValue?.message == "name is empty")
        #expect(ValueSyntax.text("a\nb", key: "name").failureValue != nil)
    }

    @Test func result_get_throws_the_typed_error() {
        #expect(throws: ValueError.self) { try ValueSyntax.pin("x").get() }
    }
}
