import Foundation
import MSLP
import MSLPChannel
import MedsettleCore
import Testing

/// docs/PROTOCOL.md's worked sessions, replayed against a real engine on the demo data set with the
/// tests' clock (2026-11-29, Asia/Shanghai): every `C:` line is sent as written and every `S:` line
/// must come back byte for byte. The greeting's challenge is random, so the session's `SIGNIN` is
/// sent with the mac of the challenge actually received — after checking that the document's own
/// mac is right for the document's challenge. Consecutive `C:` lines are sent in one write
/// (pipelined) before their replies are read.
@Suite(.timeLimit(.minutes(2)))
struct ProtocolDocTests {
    struct Session {
        let terminal: String
        /// The `C:` and `S:` lines, without their prefix.
        let lines: [(client: Bool, text: String)]
    }

    /// Every fenced block after a `<!-- session TERMINAL` marker, in document order.
    static func sessions() throws -> [Session] {
        let text = try String(contentsOf: ProtocolDocument.document, encoding: .utf8)
        var sessions: [Session] = []
        var from = text.startIndex
        while let marker = text.range(of: "<!-- session ", range: from..<text.endIndex) {
            guard let terminalEnd = text[marker.upperBound...].firstIndex(of: " "),
                  let open = text.range(of: "```\n", range: marker.upperBound..<text.endIndex),
                  let close = text.range(of: "\n```", range: open.upperBound..<text.endIndex) else {
                throw TestFailure("a session marker without its block")
            }
            let lines = try text[open.upperBound..<close.lowerBound].split(separator: "\n").map { line in
                if line.hasPrefix("C: ") { return (true, String(line.dropFirst(3))) }
                if line.hasPrefix("S: ") { return (false, String(line.dropFirst(3))) }
                throw TestFailure("a session line starts with C: or S: — \(line)")
            }
            sessions.append(Session(terminal: String(text[marker.upperBound..<terminalEnd]), lines: lines))
            from = close.upperBound
        }
        return sessions
    }

    @Test func theWorkedSessionsAreWhatTheEngineAnswers() async throws {
        let sessions = try Self.sessions()
        #expect(sessions.count >= 3)
        let engine = try await TestEngine.start()
        for session in sessions {
            let transcript = try await Self.replay(session, on: engine)
            let expected = session.lines.map { ($0.client ? "C: " : "S: ") + $0.text }
            #expect(transcript == expected, "the engine answered:\n\(transcript.joined(separator: "\n"))")
        }
        await engine.stop()
    }

    /// The session as it happened: the document's client lines (its SIGNIN as written) and the
    /// engine's lines (its greeting with the document's challenge when it has the right shape).
    static func replay(_ session: Session, on engine: TestEngine) async throws -> [String] {
        let key = Terminals.key(session.terminal)
        return try await engine.withConnection { connection in
            let greeting = try #require(connection.greeting)
            var transcript: [String] = []
            var pending: [String] = []
            var documentChallenge = ""
            func flush() async throws {
                guard !pending.isEmpty else { return }
                var bytes: [UInt8] = []
                for line in pending {
                    bytes += Array(line.utf8) + [0x0A]
                    transcript.append("C: " + line)
                }
                pending = []
                try await connection.send(raw: bytes)
            }
            for (client, text) in session.lines {
                if client {
                    pending.append(try Self.signedIn(text, documentChallenge: documentChallenge, key: key, real: greeting.challenge))
                    continue
                }
                if text.hasPrefix("* HELLO ") {
                    // The greeting: the document shows a challenge of its own.
                    let shown = try #require(Greeting.parse(Array(text.utf8)), "the document's greeting: \(text)")
                    documentChallenge = shown.challenge
                    #expect(greeting.proto == shown.proto)
                    transcript.append("S: * HELLO proto=\(greeting.proto) challenge=\(shown.challenge)")
                    continue
                }
                try await flush()
                guard let reply = try await connection.readLine() else {
                    transcript.append("S: (connection closed)")
                    break
                }
                transcript.append("S: " + String(decoding: reply, as: UTF8.self))
            }
            try await flush()
            // The transcript shows the document's SIGNIN line, which was sent with the real mac.
            return transcript.map { line in
                guard line.hasPrefix("C: SIGNIN ") else { return line }
                return session.lines.first { $0.client && $0.text.hasPrefix("SIGNIN ") }.map { "C: " + $0.text } ?? line
            }
        }
    }

    /// A SIGNIN line with its mac checked against the document's challenge and replaced by the mac
    /// of the challenge the engine sent; any other line as it is.
    static func signedIn(_ line: String, documentChallenge: String, key: [UInt8], real: String) throws -> String {
        guard line.hasPrefix("SIGNIN ") else { return line }
        guard case .request(let request) = RequestParser.parse(line), let terminal = request.value("terminal"),
              let mac = request.value("mac") else { throw TestFailure("the document's SIGNIN: \(line)") }
        #expect(mac == Greeting.hex(MAC.signIn(key: key, challenge: documentChallenge, terminal: terminal)),
                "the document's SIGNIN mac is not the mac of its greeting's challenge")
        return line.replacingOccurrences(of: "mac=\(mac)", with: "mac=\(Greeting.hex(MAC.signIn(key: key, challenge: real, terminal: terminal)))")
    }
}

/// Where docs/PROTOCOL.md is, from this file.
enum ProtocolDocument {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/PROTOCOL.md").standardized
}
