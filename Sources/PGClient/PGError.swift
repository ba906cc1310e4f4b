/// An error from libpq or the server, carrying the SQLSTATE when the server gave one.
public struct PGError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The connection could not be made or was lost; the outcome of an in-flight COMMIT is unknown.
        case connection
        /// The server refused a statement (see `sqlState`).
        case server
        /// A value could not be decoded into the type asked for.
        case decoding
    }

    public let kind: Kind
    /// The five-character SQLSTATE code, e.g. `23505` for a unique violation.
    public let sqlState: String?
    public let message: String
    /// The constraint named by the server for integrity violations.
    public let constraint: String?
    /// The connection was lost after COMMIT was sent: the transaction may or may not have
    /// committed. Never report such an operation as not done.
    public internal(set) var commitOutcomeUnknown = false

    public init(kind: Kind, sqlState: String? = nil, message: String, constraint: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.constraint = constraint
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isCheckViolation: Bool { sqlState == "23514" }
    /// Serialization failure or deadlock: the transaction may simply be retried.
    public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }
    /// Class 08 (connection exception), 57P (operator intervention: shutdown) and 25P03 (the
    /// session sat idle in a transaction past `idle_in_transaction_session_timeout` and was ended)
    /// mean the connection is gone.
    public var isConnectionFailure: Bool {
        if kind == .connection { return true }
        guard let s = sqlState else { return false }
        return s.hasPrefix("08") || s.hasPrefix("57P") || s == "25P03"
    }
    /// The statement ran past a limit and was cancelled: 57014 (`statement_timeout`, or a cancel
    /// request) or 55P03 (`lock_timeout`). Its transaction did nothing; the database is slow or
    /// something holds a lock, so the same work may succeed a moment later.
    public var isTimeout: Bool { sqlState == "57014" || sqlState == "55P03" }
    public var isLockTimeout: Bool { sqlState == "55P03" }

    public var description: String {
        var text = "PostgreSQL error"
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let constraint { text += " (constraint \(constraint))" }
        return text
    }
}
