import MedsettleStore

/// One connection's protocol state: the challenge it was greeted with, where the client is, who
/// signed in, and how many sign-ins failed. Owned by the connection's handler, changed only on its
/// event loop.
struct Session {
    /// The greeting's challenge as sent (lowercase hex).
    let challenge: String
    /// For the sign-in failures counted per address (nil: not counted, e.g. a Unix socket).
    let client: ClientAddress?
    /// The terminal signed in, as it was then (the router asks for its standing on each request).
    var terminal: TerminalContext?
    /// The key version and disable count the terminal signed in under: a rotation or a disable
    /// since ends the session.
    var standing = SignedInStanding(keyVersion: 0, disabledCount: 0)
    var authFailures = 0
    /// Lines routed before the sign-in: an unsigned connection may send only `PING` and
    /// `SIGNIN`, and no terminal needs many of them.
    var linesBeforeSignIn = 0

    init(challenge: String, client: ClientAddress? = nil) {
        self.challenge = challenge
        self.client = client
    }

    /// After this many failed sign-ins the connection finishes (PROTOCOL.md "Session").
    static let maxAuthFailures = 3
    /// Lines a connection may send before it signs in; the next one finishes it with
    /// `* ERR NOT_SIGNED_IN`. Without a bound, a client that never signs in could keep the engine
    /// answering PINGs as fast as it sends them until its sign-in deadline.
    static let maxLinesBeforeSignIn = 16
}

/// What the connection does after writing a reply.
enum SessionAction: Sendable {
    case none
    case signedIn(TerminalContext, SignedInStanding)
    case authFailed
    /// SIGNOUT, or a terminal disabled or rotated since its sign-in: the reply is sent, then the
    /// connection finishes (half-close, input drained; later pipelined requests get no reply).
    case close
}
