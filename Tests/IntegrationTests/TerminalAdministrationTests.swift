import Foundation
import MSLP
import MSLPChannel
import MedsettleCore
import PGClient
import Testing

/// ADMIN.md "Terminals", through the built `medsettle` as an operator runs it: the printed lines,
/// the exit codes, and that a printed key signs in (and a rotated or disabled one does not).
@Suite(.timeLimit(.minutes(3)))
struct TerminalAdministrationTests {
    static func environment(_ engine: TestEngine) -> [String: String] {
        ["DATABASE_URL": engine.conninfo, "MEDSETTLE_SECRET": TestDatabaseServer.secretHex, "PATH": "/usr/bin:/bin"]
    }

    /// `terminal=ID key=HEX` → (ID, key bytes).
    static func issued(_ line: String) throws -> (String, [UInt8]) {
        let fields = Dictionary(uniqueKeysWithValues: line.trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: " ").map { pair -> (String, String) in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), parts.count == 2 ? String(parts[1]) : "")
            })
        let terminal = try #require(fields["terminal"], "\(line)")
        let hex = try #require(fields["key"], "\(line)")
        #expect(hex.count == 64 && hex == hex.lowercased(), "\(line)")
        return (terminal, try #require(decodeHex(hex)))
    }

    static func signIn(_ engine: TestEngine, _ terminal: String, _ key: [UInt8]) async throws -> ReplyLine {
        try await MSLPClient.withConnection(host: "127.0.0.1", port: engine.port) { connection in
            try await connection.signIn(terminal: terminal, key: key)
        }
    }

    @Test func addDisableEnableRotateAndList() async throws {
        let engine = try await TestEngine.start()
        let env = Self.environment(engine)
        func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
            try ServeProcessTests.run(arguments, environment: env)
        }

        // The lowest unused CODE-NN (P001-01 and P001-02 exist in the data set), then a chosen id.
        let added = try run(["terminal", "add", "--institution", "P001"])
        #expect(added.status == 0, "\(added.error)")
        let (terminal, key) = try Self.issued(added.output)
        #expect(terminal == "P001-03")
        try await engine.waitForReference("the new terminal") { $0.credentials(terminal) != nil }
        #expect(try await Self.signIn(engine, terminal, key).ok)
        let named = try run(["terminal", "add", "--institution", "H002", "--id", "H002-ward7"])
        #expect(try Self.issued(named.output).0 == "H002-ward7")

        // Refusals: non-zero, nothing changed.
        #expect(try run(["terminal", "add", "--institution", "Z999"]).status != 0)
        #expect(try run(["terminal", "add", "--institution", "P001", "--id", "P001-01"]).status != 0)
        #expect(try run(["terminal", "disable", "NOPE-01"]).status != 0)
        #expect(try run(["terminal", "enable", "NOPE-01"]).status != 0)
        #expect(try run(["terminal", "rotate-key", "NOPE-01"]).status != 0)

        // Disable (twice is no error), enable.
        for _ in 0..<2 {
            let disabled = try run(["terminal", "disable", terminal])
            #expect(disabled.status == 0 && disabled.output == "terminal=\(terminal) enabled=0\n", "\(disabled)")
        }
        try await engine.waitForReference("the terminal disabled") { $0.credentials(terminal)?.enabled == false }
        #expect(try await Self.signIn(engine, terminal, key).code == "TERMINAL_DISABLED")
        #expect(try run(["terminal", "enable", terminal]).output == "terminal=\(terminal) enabled=1\n")
        try await engine.waitForReference("the terminal enabled") { $0.credentials(terminal)?.enabled == true }
        #expect(try await Self.signIn(engine, terminal, key).ok)

        // A rotated key: the old one fails at once, the new one signs in.
        let rotated = try run(["terminal", "rotate-key", terminal])
        let (same, newKey) = try Self.issued(rotated.output)
        #expect(same == terminal && newKey != key)
        try await engine.waitForReference("the new key") { $0.credentials(terminal)?.key == newKey }
        #expect(try await Self.signIn(engine, terminal, key).code == "AUTH_FAILED")
        #expect(try await Self.signIn(engine, terminal, newKey).ok)

        // The list: one key=value line per terminal, never a key.
        let listed = try run(["terminal", "list"])
        #expect(listed.output.contains("terminal=\(terminal) institution=P001 kind=pharmacy enabled=1\n"), "\(listed.output)")
        #expect(listed.output.contains("terminal=H002-ward7 institution=H002 kind=hospital enabled=1\n"))
        #expect(!listed.output.contains(encodeHex(newKey)))
        let json = try run(["terminal", "list", "--json"])
        #expect(json.status == 0 && json.output.contains("\"H002-ward7\"") && !json.output.contains(encodeHex(newKey)), "\(json)")
        #expect(try engine.scalar("SELECT count(*) FROM terminal") == Int64(listed.output.split(separator: "\n").count))
        await engine.stop()
    }

    /// RULES.md §7 and §12 across two fronts on one database: a session whose terminal is
    /// disabled, or whose key is rotated, answers its next request (read 2 s or more after the
    /// command) with the error under its own tag, later pipelined requests get no reply, and the
    /// connection closes.
    @Test func sessionsEndOnEveryFrontWhenTheTerminalIsDisabledOrRotated() async throws {
        let first = try await TestEngine.start()
        let second = try await TestEngine.start(sharing: first)
        let env = Self.environment(first)
        let fronts = [first, second]
        // Sessions that stay open: P001-02 and H002-01 on each front.
        func session(_ front: TestEngine, _ terminal: String, _ body: @escaping (MSLPConnection) async throws -> Void) async throws {
            try await MSLPClient.withConnection(host: "127.0.0.1", port: front.port) { connection in
                #expect(try await connection.signIn(terminal: terminal, key: Terminals.key(terminal)).ok)
                #expect(try await connection.request("PING p").ok)
                try await body(connection)
            }
        }
        var newKey: [UInt8] = []
        try await session(first, "P001-02") { p1 in try await session(first, "H002-01") { h1 in
            try await session(second, "P001-02") { p2 in try await session(second, "H002-01") { h2 in
                #expect(try ServeProcessTests.run(["terminal", "disable", "P001-02"], environment: env).status == 0)
                let rotated = try ServeProcessTests.run(["terminal", "rotate-key", "H002-01"], environment: env)
                #expect(rotated.status == 0)
                newKey = try Self.issued(rotated.output).1
                try await Task.sleep(for: .seconds(2))
                for (terminal, connection) in [("P001-02", p1), ("H002-01", h1), ("P001-02", p2), ("H002-01", h2)] {
                    try await connection.send(raw: Array("PING first\r\nPING second\r\n".utf8))
                    let reply = try await connection.readReply()
                    #expect(reply.tag == "first", "\(reply)")
                    #expect(reply.errorCode == (terminal == "P001-02" ? .terminalDisabled : .authFailed), "\(terminal): \(reply)")
                    // No reply to the pipelined request, and the connection closes.
                    #expect(try await connection.readLine() == nil, "\(terminal)")
                }
            } }
        } }
        for front in fronts {
            #expect(try await Self.signIn(front, "P001-02", Terminals.key("P001-02")).code == "TERMINAL_DISABLED")
            #expect(try await Self.signIn(front, "H002-01", Terminals.key("H002-01")).code == "AUTH_FAILED")
            #expect(try await Self.signIn(front, "H002-01", newKey).ok)
        }
        await second.stop()
        await first.stop()
    }

    /// A disable seen late, after the enable that followed it, still ends the sessions from before
    /// it; and a SIGNIN on such a session is refused and closes the connection too.
    @Test func aDisableUndoneAtOnceStillEndsTheSessionsBeforeIt() async throws {
        let engine = try await TestEngine.start()
        let env = Self.environment(engine)
        try await MSLPClient.withConnection(host: "127.0.0.1", port: engine.port) { first in
            try await MSLPClient.withConnection(host: "127.0.0.1", port: engine.port) { second in
                for connection in [first, second] {
                    #expect(try await connection.signIn(terminal: "P001-02", key: Terminals.key("P001-02")).ok)
                }
                #expect(try ServeProcessTests.run(["terminal", "disable", "P001-02"], environment: env).status == 0)
                #expect(try ServeProcessTests.run(["terminal", "enable", "P001-02"], environment: env).status == 0)
                try await engine.waitForReference("P001-02 disabled and enabled") { $0.credentials("P001-02")?.standing.disabledCount == 1 }
                #expect(try await first.request("PING p").errorCode == .terminalDisabled)
                #expect(try await first.readLine() == nil)
                let again = try await second.signIn(terminal: "P001-02", key: Terminals.key("P001-02"))
                #expect(again.errorCode == .terminalDisabled, "\(again)")
                #expect(try await second.readLine() == nil)
            }
        }
        #expect(try await Self.signIn(engine, "P001-02", Terminals.key("P001-02")).ok)
        await engine.stop()
    }
}
