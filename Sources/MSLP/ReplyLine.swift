import MedsettleCore

/// A reply line as a client reads it: `TAG OK [k=v ...]` or `TAG ERR CODE [k=v ...] msg=...`.
///
/// Uses the same field grammar as requests (`FieldScanner`), so a reply the server writes is always
/// one this reads. `msg` stays among the fields; `message` is a shortcut to it.
public struct ReplyLine: Sendable, Hashable {
    public let tag: String
    public let ok: Bool
    /// The error code word for `ERR`, `nil` for `OK`.
    public let code: String?
    public let fields: [Field]

    public init(tag: String, ok: Bool, code: String?, fields: [Field]) {
        self.tag = tag
        self.ok = ok
        self.code = code
        self.fields = fields
    }

    public func value(_ key: String) -> String? { fields.value(key) }

    /// The `msg` of an error.
    public var message: String? { value("msg") }

    /// The code as an `ErrorCode`, if it is one this build knows.
    public var errorCode: ErrorCode? { code.flatMap(ErrorCode.init(rawValue:)) }

    /// Reads a reply line; a trailing LF and CR are tolerated. `nil` if it is not a reply line
    /// (the greeting is not: see `Greeting.parse`).
    public static func parse(_ line: some Collection<UInt8>) -> ReplyLine? {
        var bytes = Array(line)
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        return bytes.withUnsafeBufferPointer(parse(buffer:))
    }

    public static func parse(_ line: String) -> ReplyLine? {
        parse(Array(line.utf8))
    }

    static func parse(buffer p: UnsafeBufferPointer<UInt8>) -> ReplyLine? {
        var pos = 0
        func token() -> UnsafeBufferPointer<UInt8> {
            let start = pos
            while pos < p.count && p[pos] != ByteClass.space { pos += 1 }
            return UnsafeBufferPointer(rebasing: p[start..<pos])
        }
        func skipSpace() -> Bool {
            guard pos < p.count else { return false }
            pos += 1
            return true
        }

        let tagBytes = token()
        let isStar = tagBytes.count == 1 && tagBytes[0] == 0x2A
        guard isStar || ((1...RequestParser.maxTagLength).contains(tagBytes.count)
                         && tagBytes.allSatisfy(ByteClass.isTagByte)) else { return nil }
        guard skipSpace() else { return nil }
        let status = String(decoding: token(), as: UTF8.self)
        var code: String?
        switch status {
        case "OK":
            break
        case "ERR":
            guard skipSpace() else { return nil }
            let codeBytes = token()
            guard !codeBytes.isEmpty, codeBytes.allSatisfy({ ByteClass.isUpper($0) || $0 == 0x5F }) else { return nil }
            code = String(decoding: codeBytes, as: UTF8.self)
        default:
            return nil
        }
        guard case .success(let fields) = FieldScanner.scan(p, from: pos) else { return nil }
        return ReplyLine(tag: String(decoding: tagBytes, as: UTF8.self), ok: code == nil, code: code, fields: fields)
    }
}
