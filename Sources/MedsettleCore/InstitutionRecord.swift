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
}
