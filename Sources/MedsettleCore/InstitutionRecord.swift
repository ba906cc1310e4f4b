/// One designated institution or channel (institutions.csv row `code,name,kind,level`).
public struct InstitutionRecord: Sendable, Hashable {
    public let code: String
    public let name: String
    /// The terminal kind of all its terminals (RULES.md §6).
    public let kind: TerminalKind
    /// The hospital level 1–3 that picks the policy row; 0 for everything that is not a hospital.
    public let level: Int

    public init(code: String, name: String, kind: TerminalKind, level: Int) {
        self.code = code
        self.name = name
        self.kind = kind
        self.level = level
    }

    public static let header = ["code", "name", "kind", "level"]

    /// Parses institutions.csv. Codes are unique; a hospital has level 1–3 and anything else
    /// level 0, because the level is what selects a policy row and a mismatch would misprice.
    public static func parse(csv text: String, file: String = "institutions.csv") throws -> [InstitutionRecord] {
        let reader = CSVReader(file: file)
        var seen: Set<String> = []
        var result: [InstitutionRecord] = []
        for row in try reader.rows(text, header: header) {
            let code = try reader.code(row, 0, "code")
            let name = try reader.text(row, 1, "name")
            let kind = try reader.enumeration(row, 2, "kind", as: TerminalKind.self)
            let level = Int(try reader.integer(row, 3, "level", in: 0...3))
            let allowed = kind == .hospital ? 1...3 : 0...0
            guard allowed.contains(level) else {
                throw reader.error(row, "level \(level) does not fit kind \(kind.rawValue) (hospital 1–3, others 0)")
            }
            guard seen.insert(code).inserted else { throw reader.error(row, "duplicate code `\(code)`") }
            result.append(InstitutionRecord(code: code, name: name, kind: kind, level: level))
        }
        return result
    }
}
