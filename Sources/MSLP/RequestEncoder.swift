/// Writing request lines, for clients (the CLI client, the load harness, tests).
///
/// The encoder escapes values but does not check the tag or keys: a client that wants to send a
/// malformed line on purpose can, and a well-behaved client builds its requests from valid words.
extension Request {
    /// Appends `VERB TAG k=v ...` and an LF to `out`.
    public func encode(into out: inout [UInt8]) {
        out.append(contentsOf: verb.rawValue.utf8)
        out.append(ByteClass.space)
        out.append(contentsOf: tag.utf8)
        Reply.append(fields, to: &out)
        out.append(0x0A)
    }

    /// The request line, LF included. `RequestParser.parse` takes it back without the LF.
    public func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32 + fields.count * 24)
        encode(into: &out)
        return out
    }
}
