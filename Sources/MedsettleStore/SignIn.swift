import MedsettleCore
import PGClient

/// What SIGNIN needs to know of a terminal. The key is unsealed only here, in memory.
public struct TerminalCredentials: Sendable {
    public let context: TerminalContext
    public let key: [UInt8]
    public let enabled: Bool
}

extension Store {
    static let terminalLookup = PGStatement("terminal_lookup", """
        SELECT t.institution, t.key_sealed, t.enabled, i.kind, i.level
        FROM terminal t JOIN institution i ON i.code = t.institution
        WHERE t.id = $1
        """)

    /// The terminal's record and key, or nil when there is no such terminal.
    public func terminalCredentials(_ terminal: String) throws -> TerminalCredentials? {
        try pool.withConnection { connection in
            let row = try connection.query(Self.terminalLookup, [terminal])
            guard row.rowCount == 1 else { return nil }
            guard let kind = TerminalKind(rawValue: try row.requireString(0, 3)) else {
                throw PGError(kind: .decoding, message: "unknown terminal kind")
            }
            let key = try secrets.open(sealedTerminalKey: try row.requireBytes(0, 1))
            let context = TerminalContext(terminal: terminal, institution: try row.requireString(0, 0),
                                          kind: kind, level: try row.requireInt(0, 4))
            return TerminalCredentials(context: context, key: key, enabled: try row.requireBool(0, 2))
        }
    }
}
