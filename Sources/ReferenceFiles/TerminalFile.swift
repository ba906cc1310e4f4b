import MedsettleCore

/// The demo's terminals file (`terminal,institution,key_hex,enabled`). Only the demo loads one:
/// in service a terminal's key is made by `terminal add` and never written to a file (RULES.md §7).
public enum TerminalFile {
    public static let columns = ["terminal", "institution", "key_hex", "enabled"]

    /// Terminal ids are unique; the key is exactly 64 hex digits (either case); every row names
    /// one of `institutions`, so a typo cannot make a terminal that belongs nowhere.
    public static func terminals(_ text: String, institutions: Set<String>, file: String = "terminals.csv") throws -> [TerminalRecord] {
        let table = try CSVTable(text, file: file, required: columns)
        var lines: [String: Int] = [:]
        return try table.records.map { record in
            let terminal = try record.identifier("terminal")
            let institution = record.value("institution")
            guard institutions.contains(institution) else { throw record.error("unknown institution `\(institution)`") }
            guard let key = decodeHex(record.value("key_hex")), key.count == 32 else {
                throw record.error("key_hex must be 64 hex digits (32 bytes)")
            }
            let enabled = try record.flag("enabled")
            if let first = lines.updateValue(record.line, forKey: terminal) {
                throw record.error("duplicate terminal `\(terminal)` (first on line \(first))")
            }
            return TerminalRecord(terminal: terminal, institution: institution, key: key, enabled: enabled)
        }
    }
}
