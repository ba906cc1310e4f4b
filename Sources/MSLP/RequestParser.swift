import MedsettleCore

/// Parses one request line (`VERB TAG [key=value ...]`, PROTOCOL.md "Framing") from bytes.
///
/// The line arrives without its LF and without a trailing CR: framing and the length limit are the
/// connection's business. The parser checks the grammar only; `Request.validate()` then checks the
/// keys against the verb's schema. Work is done on bytes, and a well-formed line costs one array of
/// fields plus its (usually small, inline) strings.
///
/// Order of checks, so that every reply carries the most useful tag and code:
/// 1. the tag (the second token): unreadable → tag `*`, `BAD_REQUEST`;
/// 2. the verb: non-letters → `BAD_REQUEST`; unknown letters → `UNKNOWN_VERB`;
/// 3. the fields, left to right → `BAD_REQUEST` naming the problem.
public enum RequestParser {
    /// Longest tag (PROTOCOL.md: 1–32 characters).
    public static let maxTagLength = 32

    public static func parse(_ line: [UInt8]) -> ParseResult {
        line.withUnsafeBufferPointer(parse(buffer:))
    }

    public static func parse(_ line: ArraySlice<UInt8>) -> ParseResult {
        line.withUnsafeBufferPointer(parse(buffer:))
    }

    public static func parse(_ line: some Collection<UInt8>) -> ParseResult {
        if let result = line.withContiguousStorageIfAvailable(parse(buffer:)) { return result }
        return Array(line).withUnsafeBufferPointer(parse(buffer:))
    }

    /// Convenience for clients and tests: parses the UTF-8 of `line`.
    public static func parse(_ line: String) -> ParseResult {
        var copy = line
        return copy.withUTF8(parse(buffer:))
    }

    public static func parse(buffer p: UnsafeBufferPointer<UInt8>) -> ParseResult {
        let n = p.count
        if n == 0 { return .empty }

        var verbEnd = 0
        while verbEnd < n && p[verbEnd] != ByteClass.space { verbEnd += 1 }

        // The tag first: every later failure is answered with it.
        var tagEnd = verbEnd + 1
        while tagEnd < n && p[tagEnd] != ByteClass.space { tagEnd += 1 }
        guard verbEnd > 0 else { return fail("*", .badRequest, "line starts with a space") }
        guard verbEnd < n else { return fail("*", .badRequest, "missing tag") }
        let tagBytes = UnsafeBufferPointer(rebasing: p[(verbEnd + 1)..<tagEnd])
        guard !tagBytes.isEmpty else { return fail("*", .badRequest, "double space") }
        guard tagBytes.count <= maxTagLength, tagBytes.allSatisfy(ByteClass.isTagByte) else {
            return fail("*", .badRequest, "bad tag: 1-32 of A-Z a-z 0-9 . _ -")
        }
        let tag = String(decoding: tagBytes, as: UTF8.self)

        let verbBytes = UnsafeBufferPointer(rebasing: p[0..<verbEnd])
        guard verbBytes.allSatisfy(ByteClass.isLetter) else {
            return fail(tag, .badRequest, "bad verb: ASCII letters only")
        }
        guard let verb = Verb.lookup(letters: verbBytes) else {
            let shown = verbBytes.count <= 32 ? String(decoding: verbBytes, as: UTF8.self) : "(too long)"
            return fail(tag, .unknownVerb, "unknown verb \(shown)")
        }

        switch FieldScanner.scan(p, from: tagEnd) {
        case .success(let fields):
            return .request(Request(tag: tag, verb: verb, fields: fields))
        case .failure(let failure):
            return fail(tag, .badRequest, failure.message)
        }
    }

    private static func fail(_ tag: String, _ code: ErrorCode, _ message: String) -> ParseResult {
        .failure(ProtocolFailure(tag: tag, code: code, message: message))
    }
}
