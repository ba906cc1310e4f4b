// Fuzz target `reply`: arbitrary bytes through the client-side readers, `ReplyLine.parse` and
// `Greeting.parse`.
@testable import MSLP
import MedsettleCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReply(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    let endsWithBreak = bytes.last == 0x0A || bytes.last == 0x0D

    let reply = ReplyLine.parse(buffer: bytes)
    if !endsWithBreak {
        // "A trailing LF and CR are tolerated."
        check(ReplyLine.parse(Array(bytes)) == reply, "parse(Collection) disagrees")
        check(ReplyLine.parse(Array(bytes) + [0x0A]) == reply, "a trailing LF changes the reply")
        check(ReplyLine.parse(Array(bytes) + [0x0D, 0x0A]) == reply, "a trailing CR LF changes the reply")
    }
    if let reply {
        check(reply.tag == "*" || isTag(reply.tag), "bad tag \(reply.tag.debugDescription)")
        check(reply.ok == (reply.code == nil), "ok and code disagree")
        if let code = reply.code {
            check(!code.isEmpty && code.utf8.allSatisfy { ByteClass.isUpper($0) || $0 == 0x5F }, "bad code \(code)")
        }
        checkFields(reply.fields)
        // What the server's encoder writes for the same reply reads back the same.
        var rebuilt: Reply?
        if reply.ok {
            rebuilt = Reply(tag: reply.tag, outcome: .ok, fields: reply.fields)
        } else if let code = reply.errorCode, let last = reply.fields.last, last.key == "msg" {
            rebuilt = Reply(tag: reply.tag, outcome: .error(code, message: last.value), fields: Array(reply.fields.dropLast()))
        }
        if let rebuilt {
            let line = rebuilt.encoded()
            check(ReplyLine.parse(line) == reply, "re-encoded reply reads differently: \(String(decoding: line, as: UTF8.self).debugDescription)")
        }
    }

    let greeting = Greeting.parse(bytes)
    if let greeting {
        check(greeting.challenge.utf8.count == 32
              && greeting.challenge.utf8.allSatisfy { ByteClass.isDigit($0) || $0 &- 0x61 < 6 }, "bad challenge")
        check(Greeting.parse(greeting.encoded()) == greeting, "re-encoded greeting reads differently")
        check(reply == nil, "a line is both a reply and a greeting")
    }
    if !endsWithBreak {
        // "A trailing CR/LF is tolerated."
        check(Greeting.parse(Array(bytes) + [0x0A]) == greeting, "a trailing LF changes the greeting")
        check(Greeting.parse(Array(bytes) + [0x0D, 0x0A]) == greeting, "a trailing CR LF changes the greeting")
    }
    return 0
}
