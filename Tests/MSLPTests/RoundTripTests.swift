import Testing
@testable import MSLP
import MedsettleCore

@Suite("Encode, then parse back")
struct RoundTripTests {
    static let oddValues = [
        "", "plain", "two words", "  lead and trail  ", "100%", "%41", "%%", "a=b", "张三", "李 四%",
        "tab\there", "cr\rlf\n", "\u{0}\u{1}\u{1F}\u{7F}", "emoji 🧾", "\u{A0}nbsp", "ünïcödé", "~!@#$^&*()",
        "A001*2@1250;C001*0.5@3000",
    ]

    @Test(arguments: oddValues)
    func request_value_survives(_ value: String) throws {
        let sent = Request(tag: "r1", verb: .enroll, pairs: [("id_no", "1"), ("name", value), ("insurance", "employee")])
        var line = sent.encoded()
        #expect(line.last == 0x0A)
        line.removeLast()
        // An encoded value never carries a raw space or control byte.
        #expect(line.filter { $0 == 0x20 }.count == 4)
        #expect(!line.contains { $0 < 0x20 || $0 == 0x7F })
        #expect(RequestParser.parse(line) == .request(sent))
    }

    @Test func request_encoding_is_exact() {
        let r = Request(tag: "a2", verb: .settle, [
            "trace": "20261129000017", "card": "H00000017", "pin": "246810", "items": "A001*2@1250;C001*1@3000",
        ])
        #expect(text(r.encoded()) == "SETTLE a2 trace=20261129000017 card=H00000017 pin=246810 items=A001*2@1250;C001*1@3000\n")
        #expect(text(Request(tag: "p", verb: .ping).encoded()) == "PING p\n")
        #expect(text(Request(tag: "n", verb: .personUpdate, ["id_no": "1", "name": "王 五"]).encoded())
                == "PERSONUPDATE n id_no=1 name=王%20五\n")
    }

    @Test(arguments: oddValues)
    func reply_value_survives(_ value: String) throws {
        let ok = Reply.ok(tag: "t", fields: [("name", value), ("n", "1")])
        let read = try #require(ReplyLine.parse(ok.encoded()))
        #expect(read.tag == "t")
        #expect(read.ok)
        #expect(read.code == nil)
        #expect(read.fields == [Field("name", value), Field("n", "1")])

        let err = Reply.error(tag: "*", code: .pinWrong, message: value, fields: [("left", "3")])
        let readErr = try #require(ReplyLine.parse(err.encoded()))
        #expect(readErr.tag == "*")
        #expect(!readErr.ok)
        #expect(readErr.code == "PIN_WRONG")
        #expect(readErr.errorCode == .pinWrong)
        #expect(readErr.value("left") == "3")
        #expect(readErr.message == value)
    }

    @Test func reply_parser_reads_the_spec_lines() throws {
        let a3 = try #require(ReplyLine.parse("a3 ERR PIN_WRONG left=5 msg=wrong%20PIN"))
        #expect(a3.tag == "a3" && !a3.ok && a3.code == "PIN_WRONG" && a3.value("left") == "5" && a3.message == "wrong PIN")
        let a1 = try #require(ReplyLine.parse("a1 OK institution=P001 kind=pharmacy date=20261129\r\n"))
        #expect(a1.ok && a1.value("kind") == "pharmacy" && a1.fields.count == 3)
        let bare = try #require(ReplyLine.parse("p OK"))
        #expect(bare.ok && bare.fields.isEmpty)
    }

    @Test(arguments: [
        "", "a1", "a1 ", "a1 FINE", "a1 ERR", "a1 ERR bad", "a1 OK  x=1", "a1 OK x", "a/1 OK", "a1 OK x=%",
        "* HELLO proto=MSLP/1 challenge=00112233445566778899aabbccddeeff",
    ])
    func reply_parser_refuses(_ line: String) {
        #expect(ReplyLine.parse(line) == nil)
    }

    @Test func every_error_code_round_trips() throws {
        for code in ErrorCode.allCases {
            let read = try #require(ReplyLine.parse(Reply.error(tag: "e", code: code, message: "m").encoded()))
            #expect(read.errorCode == code)
        }
    }
}

@Suite("Builder overloads")
struct BuilderOverloadTests {
    @Test func empty_literals_are_not_ambiguous() {
        let a = Request(tag: "p", verb: .ping, fields: [])
        let b = Request(tag: "p", verb: .ping, fields: [Field]())
        let c = Request(tag: "p", verb: .ping, [:])
        let d = Request(tag: "p", verb: .ping, pairs: [])
        #expect(a == b && b == c && c == d)
        #expect(Reply.ok(tag: "p", fields: []) == Reply.ok(tag: "p"))
        #expect(Reply.ok(tag: "p", [:]) == Reply.ok(tag: "p"))
        #expect(Reply.error(tag: "p", code: .busy, message: "m", fields: []).fields.isEmpty)
    }
}
