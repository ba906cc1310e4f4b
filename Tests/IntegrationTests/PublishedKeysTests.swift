import Foundation
import LoadData
import MSLPChannel
import MedsettleCore
import MedsettleStore
import PGClient
import Testing

/// `serve` does not start on a database whose terminals have keys published with medsettle (the
/// demo data set's, the load tests'), unless told it is a demo database.
@Suite struct PublishedKeysTests {
    static func isPublished(_ demoKeys: Set<[UInt8]>) -> (String, [UInt8]) -> Bool {
        { terminal, key in demoKeys.contains(key) || key == LoadTestData.terminalKey(terminal) }
    }

    /// The store's look: every demo terminal and every load-test terminal is found; a terminal
    /// with a fresh key is not; a key sealed under another secret is reported as unreadable.
    @Test func findsDemoAndLoadTestKeys() throws {
        let conninfo = try TestDatabaseServer.shared.freshDatabase()
        let connection = try PGConnection(conninfo: conninfo)
        let secrets = TestDatabaseServer.shared.secrets
        let demoKeys = try PublishedKeys.demoKeys()
        #expect(demoKeys.isSuperset(of: Terminals.keys.values.compactMap { decodeHex($0) }))
        let demoTerminals = try connection.query("SELECT id FROM terminal")
        let ids = Set((0..<demoTerminals.rowCount).compactMap { demoTerminals.string($0, 0) })
        #expect(demoKeys.count == ids.count)
        try seedLoadPopulation(connection, terminals: 2)
        let fresh = try secrets.seal(terminalKey: (0..<32).map { _ in UInt8.random(in: 0...255) })
        _ = try connection.query("UPDATE terminal SET key_sealed = $1 WHERE id = 'P001-02'", [PGBytes(fresh)])
        let other = try ServerSecrets(hex: String(repeating: "77", count: 32)).seal(terminalKey: Terminals.key("P002-01"))
        _ = try connection.query("UPDATE terminal SET key_sealed = $1 WHERE id = 'P002-01'", [PGBytes(other)])

        let finding = try PublishedKeys.find(connection, secrets: secrets, isPublished: Self.isPublished(demoKeys))
        let expected = ids.subtracting(["P001-02", "P002-01"])
            .union([LoadTestData.terminal(1), LoadTestData.terminal(2), LoadTestData.hospitalTerminal(1), LoadTestData.hospitalTerminal(2),
                    LoadTestData.onlineTerminal])
        #expect(Set(finding.published) == expected)
        #expect(finding.unreadable == ["P002-01"])
    }

    /// The command: refused with the terminals named and the way out; started with
    /// `--demo-database`; started without it once every published key has been rotated.
    @Test func serveRefusesPublishedKeysUntilRotated() async throws {
        let conninfo = try TestDatabaseServer.shared.freshDatabase()
        let environment = ["MEDSETTLE_SECRET": TestDatabaseServer.secretHex, "DATABASE_URL": conninfo, "PATH": "/usr/bin:/bin"]
        let refused = try ServeProcessTests.run(["serve", "--listen", "127.0.0.1:0"], environment: environment)
        #expect(refused.status != 0)
        #expect(refused.error.contains("H001-01") && refused.error.contains("medsettle terminal rotate-key ID")
                    && refused.error.contains("--demo-database"), "\(refused.error)")

        let operations = ServeProcessTests()
        let demoPort = try operations.freePort()
        let demo = try await ServeProcessTests.startServe(port: demoPort, conninfo: conninfo, environment: environment)
        demo.terminate()
        demo.waitUntilExit()

        var newKey: [UInt8] = []
        let terminals = try PGConnection(conninfo: conninfo).query("SELECT id FROM terminal ORDER BY id")
        for terminal in (0..<terminals.rowCount).compactMap({ terminals.string($0, 0) }) {
            let rotated = try ServeProcessTests.run(["terminal", "rotate-key", terminal], environment: environment)
            #expect(rotated.status == 0, "\(rotated.error)")
            if terminal == "P001-01" { newKey = decodeHex(String(rotated.output.split(separator: "=").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? [] }
        }
        let port = try operations.freePort()
        let serve = try await ServeProcessTests.startServe(port: port, conninfo: conninfo, environment: environment, demoDatabase: false)
        defer { serve.terminate(); serve.waitUntilExit() }
        let signIn = try await MSLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
            try await connection.signIn(terminal: "P001-01", key: newKey)
        }
        #expect(signIn.ok, "\(signIn)")
    }
}
