import MedsettleCore

/// What an operation answers, before the protocol adds the request's tag: OK with fields in wire
/// order, or a refusal with its code, extra fields (`left=`, `item=`) and a human-readable message.
public struct Outcome: Sendable, Error {
    public let code: ErrorCode?
    public internal(set) var fields: [(String, String)]
    public let message: String
    /// This answer is the wrong PIN that locked the card (for metrics; not on the wire).
    public internal(set) var lockedCardNow = false

    public static func ok(_ fields: [(String, String)] = []) -> Outcome {
        Outcome(code: nil, fields: fields, message: "")
    }

    public static func refused(_ code: ErrorCode, _ message: String, _ fields: [(String, String)] = []) -> Outcome {
        Outcome(code: code, fields: fields, message: message)
    }

    public var isOK: Bool { code == nil }

    public func value(_ key: String) -> String? { fields.first { $0.0 == key }?.1 }

    /// The same answer without `repeat=1` (see `Store.perform`).
    var withoutRepeatMarker: Outcome {
        var copy = self
        copy.fields.removeAll { $0 == ("repeat", "1") }
        return copy
    }
}

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
