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
}
