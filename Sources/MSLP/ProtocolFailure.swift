import MedsettleCore

/// A request that is refused before any business logic runs: the line is malformed, a key is
/// missing or unknown, or a value has the wrong syntax. It carries everything the reply needs.
public struct ProtocolFailure: Error, Sendable, Hashable {
    /// The request's tag, or `"*"` when the tag itself could not be read (PROTOCOL.md "Framing").
    public var tag: String
    public var code: ErrorCode
    /// Human-readable text for the reply's `msg=`.
    public var message: String

    public init(tag: String, code: ErrorCode, message: String) {
        self.tag = tag
        self.code = code
        self.message = message
    }

    /// The `ERR` reply that answers this failure.
    public var reply: Reply {
        Reply.error(tag: tag, code: code, message: message)
    }
}

/// A value that fails its syntax check (a value helper, the item-list parser). It has no tag: the
/// helpers only see the value, and the caller attaches the tag with `failure(tag:)`/`reply(tag:)`.
public struct ValueError: Error, Sendable, Hashable {
    public var code: ErrorCode
    public var message: String

    public init(code: ErrorCode = .badRequest, message: String) {
        self.code = code
        self.message = message
    }

    public func failure(tag: String) -> ProtocolFailure {
        ProtocolFailure(tag: tag, code: code, message: message)
    }

    public func reply(tag: String) -> Reply {
        Reply.error(tag: tag, code: code, message: message)
    }
}
