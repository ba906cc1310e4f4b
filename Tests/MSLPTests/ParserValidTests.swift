import Testing
@testable import MSLP
import MedsettleCore

@Suite("Parsing well-formed request lines")
struct ParserValidTests {
    @Test func spec_settle_example() throws {
        let r = try #require(request("SETTLE a2 trace=20261129000017 card=H00000017 pin=246810 items=A001*2@1250;C001*1@3000"))
        #expect(r.verb == .settle)
        #expect(r.tag == "a2")
        #expect(r.fields.map(\.key) == ["trace", "card", "pin", "items"])
        #expect(r.value("trace") == "20261129000017")
        #expect(r.value("items") == "A001*2@1250;C001*1@3000")
        #expect(r.value("nope") == nil)
        #expect(r.credential == .card(number: "H00000017", pin: "246810"))
    }

    @Test func verb_without_fields() throws {
        let r = try #require(request("PING p1"))
        #expect(r.verb == .ping)
        #expect(r.tag == "p1")
        #expect(r.fields.isEmpty)
    }

    @Test(arguments: ["ping", "Ping", "pInG", "PING"])
    func verb_is_case_insensitive(_ word: String) throws {
        #expect(try #require(request("\(word) t")).verb == .ping)
    }

    @Test func every_verb_parses_by_its_wire_word() throws {
        for verb in Verb.allCases {
            #expect(try #require(request("\(verb.rawValue) t")).verb == verb)
            #expect(try #require(request("\(verb.rawValue.lowercased()) t")).verb == verb)
        }
    }

    @Test(arguments: ["a", "A.b_c-9", String(repeating: "x", count: 32), "0", "-", "..."])
    func tags_of_the_allowed_alphabet(_ tag: String) throws {
        #expect(try #require(request("PING \(tag)")).tag == tag)
    }

    @Test func empty_line_is_ignored() {
        #expect(RequestParser.parse([UInt8]()) == .empty)
        #expect(RequestParser.parse("") == .empty)
    }

    @Test func empty_value_is_allowed() throws {
        let r = try #require(request("ADMIT t trace=1 card=H00000001 pin=123456 ward="))
        #expect(r.value("ward") == "")
    }

    @Test func percent_escapes_are_decoded_in_either_case() throws {
        let r = try #require(request("ENROLL t id_no=1 name=a%20b%2fc%2Fd%25 insurance=employee"))
        #expect(r.value("name") == "a b/c/d%")
    }

    @Test func escaped_utf8_and_raw_utf8_are_the_same_value() throws {
        let raw = try #require(request("ENROLL t name=张三"))
        let escaped = try #require(request("ENROLL t name=%E5%BC%A0%E4%B8%89"))
        #expect(raw.value("name") == "张三")
        #expect(escaped.value("name") == "张三")
    }

    @Test func non_breaking_space_is_ordinary_utf8() throws {
        // Only bytes below 0x21, 0x7F and '%' must be escaped; U+00A0 passes as is.
        #expect(try #require(request("ENROLL t name=a\u{A0}b")).value("name") == "a\u{A0}b")
    }

    @Test func value_may_contain_equals_and_punctuation() throws {
        let r = try #require(request("QRCODE t card=a=b*c@d;e"))
        #expect(r.value("card") == "a=b*c@d;e")
    }

    @Test func qr_credential() throws {
        let r = try #require(request("CARDINFO t qr=tok.en"))
        #expect(r.credential == .qr("tok.en"))
    }

    @Test func key_of_32_chars_is_accepted() throws {
        let key = String(repeating: "k", count: 32)
        #expect(try #require(request("PING t \(key)=1")).value(key) == "1")
    }

    @Test func parser_does_not_check_the_schema() throws {
        // Unknown keys for the verb are the schema's business, not the parser's.
        let r = try #require(request("PING t foo=bar"))
        #expect(r.value("foo") == "bar")
    }

    @Test func array_slice_and_collection_overloads_agree() {
        let bytes = Array("  PING t x=1".utf8)
        let slice = bytes[2...]
        #expect(RequestParser.parse(slice) == RequestParser.parse(Array(slice)))
        #expect(RequestParser.parse(Array(slice).lazy.map { $0 }) == RequestParser.parse(Array(slice)))
        #expect(RequestParser.parse("PING t x=1") == RequestParser.parse(Array(slice)))
    }
}
