import MSLP
import MSLPChannel
import MedsettleCore
import Testing

/// Greeting, SIGNIN/SIGNOUT, the sign-in gate, the kind × verb table, pipelining and framing.
@Suite(.timeLimit(.minutes(2)))
struct SessionTests {
    @Test func greetingCarriesAFreshChallenge() async throws {
        let engine = try await TestEngine.start()
        let first = try await engine.withConnection { $0.greeting?.challenge }
        let second = try await engine.withConnection { $0.greeting?.challenge }
        #expect(first?.utf8.count == 32 && second?.utf8.count == 32)
        #expect(first != second)
        await engine.stop()
    }

    @Test func onlyPingAndSigninBeforeSignIn() async throws {
        let engine = try await TestEngine.start()
        try await engine.withConnection { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("PING t1").ok)
            let r1 = try await c.request("CARDINFO t2 card=H00000017 pin=246810")
            #expect(r1.errorCode == .notSignedIn, "\(r1)")
            let r2 = try await c.request("SIGNOUT t3")
            #expect(r2.errorCode == .notSignedIn, "\(r2)")
            let r3 = try await c.request("FROB t4")
            #expect(r3.errorCode == .unknownVerb, "\(r3)")
        }
        await engine.stop()
    }

    @Test func signInRepliesWithInstitutionKindAndDate() async throws {
        let engine = try await TestEngine.start()
        try await engine.withConnection { (c: MSLPConnection) async throws -> Void in
            let reply = try await c.signIn(terminal: "H002-01", key: Terminals.key("H002-01"))
            #expect(reply.ok)
            #expect(reply.value("institution") == "H002" && reply.value("kind") == "hospital" && reply.value("date") == "20261129")
        }
        await engine.stop()
    }

    @Test func threeFailedSignInsCloseTheConnection() async throws {
        let engine = try await TestEngine.start()
        try await engine.withConnection { (c: MSLPConnection) async throws -> Void in
            let wrongKey = Terminals.key("P001-02")
            let r4 = try await c.signIn(terminal: "P001-01", key: wrongKey)
            #expect(r4.errorCode == .authFailed, "\(r4)")
            let r5 = try await c.request("SIGNIN t2 terminal=NOPE-01 mac=\(String(repeating: "0", count: 64))")
            #expect(r5.errorCode == .authFailed, "\(r5)")
            let r6 = try await c.request("SIGNIN t3 terminal=P001-01 mac=xyz")
            #expect(r6.errorCode == .authFailed, "\(r6)")
            #expect(try await c.readLine() == nil)
        }
        await engine.stop()
    }

    @Test func disabledTerminalIsRefusedButNotCounted() async throws {
        let engine = try await TestEngine.start()
        try await engine.withConnection { (c: MSLPConnection) async throws -> Void in
            for _ in 0..<4 {
                let r7 = try await c.signIn(terminal: "P002-99", key: Terminals.key("P002-99"))
                #expect(r7.errorCode == .terminalDisabled, "\(r7)")
            }
            #expect(try await c.signIn(terminal: "P002-01", key: Terminals.key("P002-01")).ok)
        }
        await engine.stop()
    }

    @Test func signOutClosesTheConnection() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("SIGNOUT t1").ok)
            #expect(try await c.readLine() == nil)
        }
        await engine.stop()
    }

    /// Every verb of PROTOCOL.md by every kind: a verb of another kind answers FORBIDDEN even when
    /// its fields are nonsense, before they are looked at.
    @Test func kindByVerbTable() async throws {
        let engine = try await TestEngine.start()
        let terminals: [TerminalKind: String] = [.pharmacy: "P001-01", .hospital: "H001-01", .window: "W001-01",
                                                 .hotline: "L001-01", .online: "O001-01", .agency: "G001-01"]
        for (kind, terminal) in terminals {
            try await engine.withTerminal(terminal) { (c: MSLPConnection) async throws -> Void in
                for verb in Verb.allCases where !verb.isSessionVerb {
                    let reply = try await c.request("\(verb.rawValue) t1 bogus=1")
                    if verb.isAllowed(for: kind) {
                        #expect(reply.errorCode == .badRequest, "\(verb) by \(kind): \(reply)")
                    } else {
                        #expect(reply.errorCode == .forbidden, "\(verb) by \(kind): \(reply)")
                    }
                }
            }
        }
        await engine.stop()
    }

    @Test func pipelinedBatchIsAnsweredInOrder() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            var lines: [String] = []
            for i in 0..<300 {
                switch i % 3 {
                case 0: lines.append("PING p\(i)")
                case 1: lines.append("CARDINFO p\(i) card=H00000018 pin=135790")
                default: lines.append("PRICE p\(i) card=H00000017 pin=246810 items=A001*\(i)@1250")
                }
            }
            let replies = try await c.pipeline(lines)
            #expect(replies.map(\.tag) == (0..<300).map { "p\($0)" })
            let allOK = replies.allSatisfy { $0.ok }
            #expect(allOK)
            #expect(replies[2].value("total") == "2500")
        }
        await engine.stop()
    }

    @Test func lineOverTheLimitIsAnsweredThenClosed() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            // Exactly at the limit is still a line (answered BAD_REQUEST for its content).
            let atLimit = "PING t1 x=" + String(repeating: "a", count: 16_384 - 10)
            #expect(atLimit.utf8.count == 16_384)
            let r8 = try await c.request(atLimit + "\r")
            #expect(r8.errorCode == .badRequest, "\(r8)")
            try await c.send(raw: Array(("PING t2 x=" + String(repeating: "a", count: 20_000) + "\n").utf8))
            let line = try #require(try await c.readLine())
            #expect(String(decoding: line, as: UTF8.self).hasPrefix("* ERR LINE_TOO_LONG msg="))
            #expect(try await c.readLine() == nil)
        }
        await engine.stop()
    }

    @Test func emptyLinesAreIgnoredAndCRLFAccepted() async throws {
        let engine = try await TestEngine.start()
        try await engine.withConnection { (c: MSLPConnection) async throws -> Void in
            try await c.send(raw: Array("\n\r\nPING t1\r\n\nPING t2\n".utf8))
            #expect(try await c.readReply().tag == "t1")
            #expect(try await c.readReply().tag == "t2")
        }
        await engine.stop()
    }

    @Test func eofAfterPipelineStillGetsEveryReply() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let lines = (0..<20).map { "CARDINFO q\($0) card=H00000017 pin=246810" }
            var bytes: [UInt8] = []
            for line in lines { bytes += Array((line + "\n").utf8) }
            try await c.send(raw: bytes)
            c.finishSending()
            for i in 0..<20 {
                let reply = try await c.readReply()
                #expect(reply.tag == "q\(i)" && reply.ok)
            }
            #expect(try await c.readLine() == nil)
        }
        await engine.stop()
    }
}
