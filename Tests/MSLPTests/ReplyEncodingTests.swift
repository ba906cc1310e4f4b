import Testing
@testable import MSLP
import MedsettleCore

@Suite("Reply lines, byte for byte")
struct ReplyEncodingTests {
    @Test func spec_error_example() {
        let reply = Reply.error(tag: "a3", code: .pinWrong, message: "wrong PIN", fields: [("left", "5")])
        #expect(reply.encoded() == Array("a3 ERR PIN_WRONG left=5 msg=wrong%20PIN\n".utf8))
    }

    @Test func spec_ok_examples() {
        let signIn = Reply.ok(tag: "a1", ["institution": "P001", "kind": "pharmacy", "date": "20261129"])
        #expect(text(signIn.encoded()) == "a1 OK institution=P001 kind=pharmacy date=20261129\n")

        let settle = Reply.ok(tag: "a2", fields: [
            ("settlement", "S8F3K2"), ("total", "5500"), ("selfpay_full", "3000"), ("selfpay_first", "0"),
            ("inscope", "2500"), ("deductible", "0"), ("fund", "0"), ("account", "2500"), ("cash", "3000"),
            ("balance", "47500"),
        ])
        #expect(text(settle.encoded()) == "a2 OK settlement=S8F3K2 total=5500 selfpay_full=3000 selfpay_first=0 inscope=2500 deductible=0 fund=0 account=2500 cash=3000 balance=47500\n")
    }

    @Test func bare_ok_and_bare_error() {
        #expect(text(Reply.ok(tag: "p").encoded()) == "p OK\n")
        #expect(text(Reply.error(tag: "*", code: .lineTooLong, message: "").encoded()) == "* ERR LINE_TOO_LONG msg=\n")
    }

    @Test func extra_fields_come_before_msg() {
        let r = Reply.error(tag: "t", code: .unknownItem, message: "not in catalog", fields: [("item", "Z 9")])
        #expect(text(r.encoded()) == "t ERR UNKNOWN_ITEM item=Z%209 msg=not%20in%20catalog\n")
    }

    @Test func values_escape_exactly_the_required_bytes() {
        let value = "a b%c\u{0}\u{1F}\u{7F}!~=*@;张\t\r\n"
        let r = Reply.ok(tag: "t", fields: [("name", value)])
        #expect(text(r.encoded()) == "t OK name=a%20b%25c%00%1F%7F!~=*@;张%09%0D%0A\n")
        #expect(PercentCoding.encode(value) == "a%20b%25c%00%1F%7F!~=*@;张%09%0D%0A")
    }

    @Test func encode_into_appends() {
        var out = Array("x".utf8)
        Reply.ok(tag: "a").encode(into: &out)
        Reply.ok(tag: "b").encode(into: &out)
        #expect(text(out) == "xa OK\nb OK\n")
    }

    @Test func is_ok() {
        #expect(Reply.ok(tag: "a").isOK)
        #expect(!Reply.error(tag: "a", code: .busy, message: "busy").isOK)
    }

    @Test func greeting() {
        let g = Greeting(challenge: Array(0..<16).map { UInt8($0 * 17) })
        #expect(text(g.encoded()) == "* HELLO proto=MSLP/1 challenge=00112233445566778899aabbccddeeff\n")
        #expect(Greeting.parse(g.encoded()) == g)
        #expect(g.macMessage(terminal: "P001-01") == Array("00112233445566778899aabbccddeeff:P001-01".utf8))
        #expect(Greeting.parse(Array("* HELLO proto=MSLP/1 challenge=00".utf8)) == nil)
        #expect(Greeting.parse(Array("a1 OK".utf8)) == nil)
        #expect(Greeting.hex([0xde, 0xad, 0xbe, 0xef]) == "deadbeef")
    }
}
