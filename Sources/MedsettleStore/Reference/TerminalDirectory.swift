import Logging
import MedsettleCore
import PGClient

/// What SIGNIN needs to know of a terminal. The key is unsealed only here, in memory.
public struct TerminalCredentials: Sendable {
    public let context: TerminalContext
    public let key: [UInt8]
    public let enabled: Bool
}

struct TerminalRow: PGRowDecodable {
    let institution: String
    let sealedKey: [UInt8]
    let enabled: Bool
    let kind: TerminalKind
    let level: Int

    init(_ row: inout PGRow) {
        institution = row("institution")
        sealedKey = row("key_sealed")
        enabled = row("enabled")
        kind = row("kind")
        level = row("level")
    }
}

/// The terminals that may sign in, and their keys.
public struct TerminalDirectory: Sendable {
    let runner: TransactionRunner
    let secrets: ServerSecrets

    static let lookup = PGStatement<TerminalRow, String>("terminal_lookup", """
        SELECT t.institution, t.key_sealed, t.enabled, i.kind, i.level
        FROM terminal t JOIN institution i ON i.code = t.institution
        WHERE t.id = $1
        """)

    /// The terminal's record and key; nil when there is no such terminal. A key that does not
    /// open under this server's secret (the database was set up with another one) is an
    /// `INTERNAL` error, logged without the key.
    public func credentials(_ terminal: String) -> Answer<TerminalCredentials?> {
        runner.read("SIGNIN") { connection in
            guard let row = try connection.query(Self.lookup(terminal)).first else { return .success(nil) }
            let key: [UInt8]
            do {
                key = try secrets.open(sealedTerminalKey: row.sealedKey)
            } catch {
                runner.logger.error("a terminal key cannot be unsealed with this server's secret: was the database set up with another one?",
                                    metadata: ["terminal": "\(terminal)"])
                return .failure(.internalError)
            }
            let context = TerminalContext(terminal: terminal, institution: row.institution, kind: row.kind, level: row.level)
            return .success(TerminalCredentials(context: context, key: key, enabled: row.enabled))
        }
    }
}
