import Testing
@testable import MSLP
import MedsettleCore

/// One malformed line and the reply it must get.
struct Malformed: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let tag: String
    let code: ErrorCode
    /// A fragment the message must contain.
    let says: String

    init(_ name: String, _ line: String, tag: String, _ code: ErrorCode = .badRequest, says: String = "") {
        self.init(name, Array(line.utf8), tag: tag, code, says: says)
    }

    init(_ name: String, _ bytes: [UInt8], tag: String, _ code: ErrorCode = .badRequest, says: String = "") {
        self.name = name
        self.bytes = bytes
        self.tag = tag
        self.code = code
        self.says = says
    }

    var testDescription: String { name }
}

private let cases: [Malformed] = [
    // Tags
    Malformed("no tag", "PING", tag: "*", says: "tag"),
    Malformed("tag with bad char", "PING a/b", tag: "*", says: "tag"),
    Malformed("tag with UTF-8", "PING 标签", tag: "*", says: "tag"),
    Malformed("tag of 33 chars", "PING " + String(repeating: "t", count: 33), tag: "*", says: "tag"),
    Malformed("empty tag (double space)", "PING  t", tag: "*"),
    Malformed("leading space", " PING t", tag: "*"),
    Malformed("space only", " ", tag: "*"),
    Malformed("tag with percent", "PING a%20", tag: "*"),
    // Spaces between fields
    Malformed("trailing space after tag", "PING t ", tag: "t", says: "trailing space"),
    Malformed("trailing space after field", "QUERY t trace=1 ", tag: "t", says: "trailing space"),
    Malformed("double space between fields", "QUERY t  trace=1", tag: "t", says: "double space"),
    Malformed("double space later", "CANCEL t trace=1  settlement=2", tag: "t", says: "double space"),
    Malformed("tab separator", "QUERY t\ttrace=1", tag: "*"),
    // Verbs
    Malformed("verb with digit", "PING1 t", tag: "t", says: "verb"),
    Malformed("verb with underscore", "SIGN_IN t", tag: "t", says: "verb"),
    Malformed("verb with UTF-8 letter", "PİNG t", tag: "t", says: "verb"),
    Malformed("verb with dash", "-PING t", tag: "t", says: "verb"),
    Malformed("unknown verb", "FROBNICATE t", tag: "t", .unknownVerb, says: "FROBNICATE"),
    Malformed("unknown short verb", "X t", tag: "t", .unknownVerb),
    Malformed("unknown long verb", String(repeating: "A", count: 40) + " t", tag: "t", .unknownVerb),
    Malformed("verb prefix", "PIN t", tag: "t", .unknownVerb),
    Malformed("verb with extra letter", "PINGS t", tag: "t", .unknownVerb),
    // Keys
    Malformed("upper-case key", "QUERY t Trace=1", tag: "t", says: "key"),
    Malformed("key with dash", "QUERY t tr-ace=1", tag: "t", says: "key"),
    Malformed("key with UTF-8", "QUERY t 键=1", tag: "t", says: "key"),
    Malformed("empty key", "QUERY t =1", tag: "t", says: "empty key"),
    Malformed("field without =", "QUERY t trace", tag: "t", says: "'='"),
    Malformed("field without = then more", "QUERY t trace x=1", tag: "t", says: "'='"),
    Malformed("key too long", "PING t " + String(repeating: "k", count: 33) + "=1", tag: "t", says: "key too long"),
    Malformed("duplicate key", "QUERY t trace=1 trace=2", tag: "t", says: "duplicate key trace"),
    Malformed("duplicate key, not adjacent", "SETTLE t card=1 pin=2 card=3", tag: "t", says: "duplicate key card"),
    Malformed("duplicate key, both empty", "QUERY t trace= trace=", tag: "t", says: "duplicate key trace"),
    Malformed("too many fields", "PING t " + (0..<65).map { "k\($0)=" }.joined(separator: " "), tag: "t", says: "too many fields"),
    // Percent escapes
    Malformed("lone percent", "QUERY t trace=%", tag: "t", says: "escape in trace"),
    Malformed("percent one digit", "QUERY t trace=%4", tag: "t", says: "escape"),
    Malformed("percent non-hex", "QUERY t trace=%ZZ", tag: "t", says: "escape"),
    Malformed("percent half hex", "QUERY t trace=%4G", tag: "t", says: "escape"),
    Malformed("percent at end after text", "QUERY t trace=ab%", tag: "t", says: "escape"),
    Malformed("percent before space", "QUERY t trace=%4 x=1", tag: "t", says: "escape"),
    Malformed("escaped invalid UTF-8", "QUERY t trace=%FF", tag: "t", says: "UTF-8"),
    Malformed("escaped truncated UTF-8", "QUERY t trace=%E5%BC", tag: "t", says: "UTF-8"),
    Malformed("escaped overlong", "QUERY t trace=%C0%AF", tag: "t", says: "UTF-8"),
    Malformed("escaped surrogate", "QUERY t trace=%ED%A0%80", tag: "t", says: "UTF-8"),
]

private let rawCases: [Malformed] = [
    Malformed("raw NUL", Array("QUERY t trace=a".utf8) + [0x00], tag: "t", says: "0x00"),
    Malformed("raw tab in value", Array("QUERY t trace=a".utf8) + [0x09, 0x62], tag: "t", says: "0x09"),
    Malformed("raw CR in value", Array("QUERY t trace=a".utf8) + [0x0D], tag: "t", says: "0x0D"),
    Malformed("raw LF in value", Array("QUERY t trace=a".utf8) + [0x0A, 0x62], tag: "t", says: "0x0A"),
    Malformed("raw vertical tab", Array("QUERY t trace=".utf8) + [0x0B], tag: "t", says: "0x0B"),
    Malformed("raw form feed", Array("QUERY t trace=".utf8) + [0x0C], tag: "t", says: "0x0C"),
    Malformed("raw DEL", Array("QUERY t trace=a".utf8) + [0x7F], tag: "t", says: "0x7F"),
    Malformed("raw ESC", Array("QUERY t trace=".utf8) + [0x1B], tag: "t", says: "0x1B"),
    Malformed("raw 0xFF", Array("QUERY t trace=".utf8) + [0xFF], tag: "t", says: "UTF-8"),
    Malformed("raw lone continuation", Array("QUERY t trace=".utf8) + [0x80], tag: "t", says: "UTF-8"),
    Malformed("raw truncated sequence", Array("QUERY t trace=".utf8) + [0xE5, 0xBC], tag: "t", says: "UTF-8"),
    Malformed("raw truncated then ASCII", Array("QUERY t trace=".utf8) + [0xE5, 0x41, 0x42], tag: "t", says: "UTF-8"),
    Malformed("raw overlong", Array("QUERY t trace=".utf8) + [0xC0, 0xAF], tag: "t", says: "UTF-8"),
    Malformed("raw above U+10FFFF", Array("QUERY t trace=".utf8) + [0xF4, 0x90, 0x80, 0x80], tag: "t", says: "UTF-8"),
    // A raw lead byte completed by escaped continuations is still invalid text on the wire.
    Malformed("raw lead, escaped continuation", Array("QUERY t trace=".utf8) + [0xE5] + Array("%BC%A0".utf8), tag: "t", says: "UTF-8"),
    Malformed("invalid UTF-8 in tag", Array("PING a".utf8) + [0xFF], tag: "*"),
    Malformed("invalid UTF-8 in verb", [0xFF] + Array(" t".utf8), tag: "t", says: "verb"),
    Malformed("NUL in verb", [0x50, 0x00] + Array(" t".utf8), tag: "t", says: "verb"),
]

@Suite("Malformed request lines")
struct ParserMalformedTests {
    @Test(arguments: cases + rawCases)
    func refused(_ c: Malformed) throws {
        let f = try #require(failure(c.bytes), "\(c.name) must fail")
        #expect(f.tag == c.tag)
        #expect(f.code == c.code)
        if !c.says.isEmpty {
            #expect(f.message.contains(c.says), "message was: \(f.message)")
        }
    }

    @Test func failure_turns_into_a_reply() throws {
        let f = try #require(failure("QUERY t trace=1 trace=2"))
        #expect(text(f.reply.encoded()) == "t ERR BAD_REQUEST msg=duplicate%20key%20trace\n")
        #expect(Reply(f) == f.reply)
    }

    @Test func unreadable_tag_replies_with_star() throws {
        let f = try #require(failure("PING"))
        #expect(text(f.reply.encoded()) == "* ERR BAD_REQUEST msg=missing%20tag\n")
    }
}
