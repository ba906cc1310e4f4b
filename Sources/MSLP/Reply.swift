import MedsettleCore

/// One reply line: `TAG OK [key=value ...]` or `TAG ERR CODE [key=value ...] msg=<text>`.
///
/// An error always carries `msg=`, written last, after any extra fields such as `left=5` or
/// `item=X` (PROTOCOL.md example: `a3 ERR PIN_WRONG left=5 msg=wrong%20PIN`).
public struct Reply: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case ok
        case error(ErrorCode, message: String)
    }

    /// The request's tag, or `*` when it could not be read.
    public var tag: String
    public var outcome: Outcome
    /// Fields in the order they are written (for an error, before `msg`).
    public var fields: [Field]

    public init(tag: String, outcome: Outcome, fields: [Field] = []) {
        self.tag = tag
        self.outcome = outcome
        self.fields = fields
    }

    public static func ok(tag: String, fields: [(String, String)] = []) -> Reply {
        Reply(tag: tag, outcome: .ok, fields: [Field](pairs: fields))
    }

    /// `Reply.ok(tag: t, ["settlement": s, "total": "5500"])`: the literal keeps its order.
    public static func ok(tag: String, _ fields: KeyValuePairs<String, String>) -> Reply {
        Reply(tag: tag, outcome: .ok, fields: [Field](pairs: fields))
    }

    public static func error(tag: String, code: ErrorCode, message: String, fields: [(String, String)] = []) -> Reply {
        Reply(tag: tag, outcome: .error(code, message: message), fields: [Field](pairs: fields))
    }

    public init(_ failure: ProtocolFailure) {
        self = failure.reply
    }

    public var isOK: Bool {
        if case .ok = outcome { return true }
        return false
    }

    /// Appends the reply line, LF included, to `out` (lets a connection batch replies in one buffer).
    public func encode(into out: inout [UInt8]) {
        out.append(contentsOf: tag.utf8)
        switch outcome {
        case .ok:
            out.append(contentsOf: Reply.okWord)
            Reply.append(fields, to: &out)
        case .error(let code, let message):
            out.append(contentsOf: Reply.errWord)
            out.append(contentsOf: code.rawValue.utf8)
            Reply.append(fields, to: &out)
            out.append(contentsOf: Reply.msgKey)
            PercentCoding.append(message, to: &out)
        }
        out.append(0x0A)
    }

    /// The reply line, LF included.
    public func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(64 + fields.count * 24)
        encode(into: &out)
        return out
    }

    private static let okWord: [UInt8] = Array(" OK".utf8)
    private static let errWord: [UInt8] = Array(" ERR ".utf8)
    private static let msgKey: [UInt8] = Array(" msg=".utf8)

    /// ` key=value` for each field; keys are written as given (they are the engine's own words).
    static func append(_ fields: [Field], to out: inout [UInt8]) {
        for field in fields {
            out.append(ByteClass.space)
            out.append(contentsOf: field.key.utf8)
            out.append(ByteClass.equals)
            PercentCoding.append(field.value, to: &out)
        }
    }
}
