/// What one request line turned into.
public enum ParseResult: Sendable, Hashable {
    /// An empty line: ignored, no reply (PROTOCOL.md "Framing").
    case empty
    case request(Request)
    /// A malformed line; answer `failure.reply` and carry on with the next line.
    case failure(ProtocolFailure)
}
