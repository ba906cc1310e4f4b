import MedsettleCore

/// The signed-in terminal a request comes from.
public struct TerminalContext: Sendable, Hashable {
    public let terminal: String
    public let institution: String
    public let kind: TerminalKind
    /// The institution's level: 0 for pharmacies and channels, 1–3 for hospitals.
    public let level: Int

    public init(terminal: String, institution: String, kind: TerminalKind, level: Int) {
        self.terminal = terminal
        self.institution = institution
        self.kind = kind
        self.level = level
    }
}
