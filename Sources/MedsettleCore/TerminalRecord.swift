/// One terminal (terminals.csv row `terminal,institution,key_hex,enabled`).
public struct TerminalRecord: Sendable, Hashable {
    /// The terminal id sent in `SIGNIN terminal=`.
    public let terminal: String
    /// The code of the institution it belongs to.
    public let institution: String
    /// The 32-byte HMAC-SHA256 key used to check `SIGNIN mac=`.
    public let key: [UInt8]
    /// A disabled terminal answers `TERMINAL_DISABLED` after a right mac.
    public let enabled: Bool

    public init(terminal: String, institution: String, key: [UInt8], enabled: Bool) {
        precondition(key.count == 32, "a terminal key is 32 bytes")
        self.terminal = terminal
        self.institution = institution
        self.key = key
        self.enabled = enabled
    }

    public static let header = ["terminal", "institution", "key_hex", "enabled"]

    /// Parses terminals.csv. Terminal ids are unique; the key is exactly 64 hex digits (either
    /// case). When `institutions` is given, every row must name one of them, so a typo cannot
    /// create a terminal that belongs nowhere.
    public static func parse(csv text: String, institutions: Set<String>? = nil,
                             file: String = "terminals.csv") throws -> [TerminalRecord] {
        let reader = CSVReader(file: file)
        var seen: Set<String> = []
        var result: [TerminalRecord] = []
        for row in try reader.rows(text, header: header) {
            let terminal = try reader.code(row, 0, "terminal")
            let institution = try reader.code(row, 1, "institution")
            if let institutions, !institutions.contains(institution) {
                throw reader.error(row, "unknown institution `\(institution)`")
            }
            guard let key = decodeHex(row.fields[2]), key.count == 32 else {
                throw reader.error(row, "key_hex must be 64 hex digits (32 bytes)")
            }
            let enabled = try reader.flag(row, 3, "enabled")
            guard seen.insert(terminal).inserted else { throw reader.error(row, "duplicate terminal `\(terminal)`") }
            result.append(TerminalRecord(terminal: terminal, institution: institution, key: key, enabled: enabled))
        }
        return result
    }
}
