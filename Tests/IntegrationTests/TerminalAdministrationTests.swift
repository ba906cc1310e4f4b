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
        #expect(try await Self.signIn(engine, terminal, key).ok)
        let named = try run(["terminal", "add", "--institution", "H002", "--id", "H002-ward7"])
        #expect(try Self.issued(named.output).0 == "H002-ward7")

        // Refusals: non-zero, nothing changed.
        #expect(try run(["terminal", "add", "--institution", "Z999"]).status != 0)
        #expect(try run(["terminal", "add", "--institution", "P001", "--id", "P001-01"]).status != 0)
        #expect(try run(["terminal", "disable", "NOPE-01"]).status != 0)
        #expect(try run(["terminal", "rotate-key", "NOPE-01"]).status != 0)

        // Disable (twice is no error), enable.
        for _ in 0..<2 {
            let disabled = try run(["terminal", "disable", terminal])
            #expect(disabled.status == 0 && disabled.output == "terminal=\(terminal) enabled=0\n", "\(disabled)")
        }
        #expect(try await Self.signIn(engine, terminal, key).code == "TERMINAL_DISABLED")
        #expect(try run(["terminal", "enable", terminal]).output == "terminal=\(terminal) enabled=1\n")
        #expect(try await Self.signIn(engine, terminal, key).ok)

        // A rotated key: the old one fails at once, the new one signs in.
        let rotated = try run(["terminal", "rotate-key", terminal])
        let (same, newKey) = try Self.issued(rotated.output)
        #expect(same == terminal && newKey != key)
        #expect(try await Self.signIn(engine, terminal, key).code == "AUTH_FAILED")
        #expect(try await Self.signIn(engine, terminal, newKey).ok)

        // The list: one key=value line per terminal, never a key.
        let listed = try run(["terminal", "list"])
        #expect(listed.output.contains("terminal=\(terminal) institution=P001 kind=pharmacy enabled=1\n"), "\(listed.output)")
        #expect(listed.output.contains("terminal=H002-ward7 institution=H002 kind=hospital enabled=1\n"))
        #expect(!listed.output.contains(encodeHex(newKey)))
        #expect(try engine.scalar("SELECT count(*) FROM terminal") == Int64(listed.output.split(separator: "\n").count))
        await engine.stop()
    }
}
