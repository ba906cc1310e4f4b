import MSLP
import MSLPChannel
import NIOCore

/// One MSLP connection's decisions, without I/O: which line to route next, when replies leave,
/// when to read from the socket and when to hold reads back, and how the connection ends.
///
/// `ConnectionHandler` feeds it what happens on the channel (a line read, a reply ready, a write
/// done, writability, EOF, drain, the idle timer) and performs the `Action` each event returns;
/// after performing anything but `.route` it asks `nextAction()` until that answers `.none`.
/// A `.route` is answered with `replyReady`, `lineIgnored` or `routeFailed`; when the answer comes
/// later, the handler asks `nextAction()` meanwhile (the replies before that line still leave).
///
/// Lines of one connection are answered strictly in order, one at a time. Reading is held back
/// while the connection holds `maxInFlight` lines or replies between the socket's input and its
/// output — lines waiting or being worked on, plus replies not yet handed to the kernel — or
/// while the channel is over its write-buffer high-water mark, so a client that pipelines
/// without reading is throttled by TCP flow control instead of growing a buffer here.
struct ConnectionStateMachine {
    /// Where the connection is in its life. The line queue, the reply accounting and the session
    /// matter only while answering (`open`, `inputClosed`, `draining`); `finishing` and `closed`
    /// drop whatever arrives.
    enum State: Equatable {
        /// Reading request lines and answering them in order.
        case open
        /// The client sent EOF: the lines read are answered, then the connection closes.
        case inputClosed
        /// The server is shutting down: no more reads; the lines read are answered, then the
        /// connection finishes with `* ERR UNAVAILABLE`.
        case draining
        /// The server ended the connection: the last line is on its way, output is half-closed,
        /// and input is read and dropped until the client closes (or 2 s pass).
        case finishing
        /// Closed, or closing at once.
        case closed
    }

    /// Replies encoded and ready to be written in one write, and how many there are.
    struct Outbound: Equatable {
        var bytes: [UInt8] = []
        var replies = 0

        var isEmpty: Bool { bytes.isEmpty }
    }

    enum Action: Equatable {
        case none
        /// Hand this line to the router, then report `replyReady`, `lineIgnored` or `routeFailed`.
        case route([UInt8])
        /// Write and flush these replies; report `writeCompleted(replies:)` when the write is done.
        case write(Outbound)
        /// Pass the socket read on.
        case read
        /// Swallow the socket read: the server holds input back (the line deadline pauses).
        case holdRead
        /// Issue the read held back earlier (the line deadline resumes).
        case resumeRead
        /// The client sent EOF and everything is answered and written: write these last replies
        /// (if any) and close once they are written.
        case close(Outbound)
        /// Close at once, after flushing these replies (if any).
        case closeNow(Outbound)
        /// End the connection gently: write these replies (the last line among them), half-close
        /// once written, read and drop input until the client closes, close after 2 s at most.
        case finish(Outbound)
    }

    let maxInFlight: Int
    /// Named in the idle timeout's last line.
    let idleTimeout: TimeAmount
    /// Named in the sign-in deadline's last line.
    let signInTimeout: TimeAmount
    private(set) var state: State = .open
    /// The connection's protocol state, changed only by the replies' session actions.
    private(set) var session: Session
    /// Lines read and not yet routed (`.tooLong` ends the connection when its turn comes).
    private var queue = CircularBuffer<FramedLine>(initialCapacity: 16)
    /// A line is with the router.
    private var routing = false
    /// Replies answered, not yet written.
    private var unwritten = Outbound()
    /// Replies answered whose write has not completed (including `unwritten`).
    private(set) var repliesUnsent = 0
    /// Between a socket read's lines and its read-complete: replies wait so that the replies to
    /// the lines of one read leave in one write.
    private var inReadBurst = false
    /// Whether the channel is under its write-buffer high-water mark.
    private var writable = true
    /// A socket read was swallowed and is owed once reading may go on.
    private(set) var readHeld = false
    /// Bytes of lines dropped while finishing.
    private var droppedWhileFinishing = 0

    /// Bytes a finishing connection reads and drops before it closes at once: reading on lets a
    /// client that stops sending take its last reply before the close (a terminal that pipelined
    /// requests behind its SIGNOUT has sent far less), but a client that keeps sending would have
    /// the engine read (and frame) its bytes at full speed for the whole 2 s.
    static let maxDroppedWhileFinishing = 1 << 20

    init(maxInFlight: Int, idleTimeout: TimeAmount, signInTimeout: TimeAmount = .seconds(10), session: Session) {
        precondition(maxInFlight >= 1, "at least one request in flight")
        self.maxInFlight = maxInFlight
        self.idleTimeout = idleTimeout
        self.signInTimeout = signInTimeout
        self.session = session
    }

    /// Lines read and not yet answered (waiting, or with the router): the in-flight gauge.
    var linesInFlight: Int { queue.count + (routing ? 1 : 0) }

    /// Whether the connection is still answering requests (the idle timer matters).
    var isAnswering: Bool {
        switch state {
        case .open, .inputClosed, .draining: true
        case .finishing, .closed: false
        }
    }

    // MARK: Events

    /// A line (or the news of a line too long) came from the socket.
    mutating func lineRead(_ line: FramedLine) -> Action {
        guard isAnswering else {
            // Finishing: input is dropped, up to a bound.
            guard state == .finishing else { return .none }
            if case .line(let bytes) = line { droppedWhileFinishing += bytes.count + 1 }
            return droppedWhileFinishing > Self.maxDroppedWhileFinishing ? closeNow(flushing: false) : .none
        }
        queue.append(line)
        inReadBurst = true
        return nextAction()
    }

    /// The socket read that delivered the last lines is over: their replies may leave.
    mutating func readComplete() -> Action {
        inReadBurst = false
        return nextAction()
    }

    /// The router answered the line handed out by `.route`.
    mutating func replyReady(_ routed: RoutedReply) -> Action {
        guard isAnswering else { return .none } // the connection ended meanwhile
        routing = false
        routed.reply.encode(into: &unwritten.bytes)
        unwritten.replies += 1
        repliesUnsent += 1
        switch routed.action {
        case .none:
            break
        case .signedIn(let terminal, let standing):
            session.terminal = terminal
            session.standing = standing
            session.authFailures = 0
        case .authFailed:
            session.authFailures += 1
            if session.authFailures >= Session.maxAuthFailures { return finish(with: nil) }
        case .close:
            return finish(with: nil)
        }
        return nextAction()
    }

    /// The router found nothing to answer (an empty line).
    mutating func lineIgnored() -> Action {
        guard isAnswering else { return .none }
        routing = false
        return nextAction()
    }

    /// The router's work failed without a reply: the connection cannot keep its order promise.
    mutating func routeFailed() -> Action {
        guard isAnswering else { return .none }
        return closeNow(flushing: true)
    }

    /// A write of `replies` replies is done (or failed because the channel closed).
    mutating func writeCompleted(replies: Int) -> Action {
        repliesUnsent -= replies
        return nextAction()
    }

    /// The channel crossed a write-buffer water mark.
    mutating func writabilityChanged(writable: Bool) -> Action {
        self.writable = writable
        return nextAction()
    }

    /// The pipeline asks to read from the socket.
    mutating func readRequested() -> Action {
        switch state {
        case .finishing:
            return .read // keep reading (and dropping) so the client's close is noticed
        case .closed:
            return .none
        case .draining:
            return holdRead()
        case .open, .inputClosed:
            return mayRead ? .read : holdRead()
        }
    }

    /// The client half-closed (EOF).
    mutating func inputClosed() -> Action {
        switch state {
        case .open, .draining:
            state = .inputClosed
            return nextAction()
        case .finishing:
            return closeNow(flushing: false) // the client closed: the drain is over
        case .inputClosed, .closed:
            return .none
        }
    }

    /// The server shuts down gracefully.
    mutating func drainRequested() -> Action {
        guard state == .open else { return .none }
        state = .draining
        return nextAction()
    }

    /// The idle timer found no request and no reply for the idle timeout. Finishes the
    /// connection unless a line is waiting or being worked on (then `.none`: check again later).
    /// A close waiting for replies the client never reads (after its EOF) happens now.
    mutating func idleTimerFired() -> Action {
        if state == .closed { return .closeNow(Outbound()) }
        guard isAnswering, !routing, queue.isEmpty else { return .none }
        return finish(with: .error(tag: "*", code: .busy, message: "closing a connection idle for \(describe(idleTimeout))"))
    }

    /// The sign-in deadline passed. A connection not signed in by now finishes with
    /// `* ERR NOT_SIGNED_IN`, whatever it has in flight: before sign-in every line is answered at
    /// once and changes nothing, so nothing is lost, and a client that keeps lines in flight (by
    /// not reading its replies) cannot put the deadline off. Signed in: nothing happens.
    mutating func signInTimerFired() -> Action {
        guard isAnswering, session.terminal == nil else { return .none }
        return finish(with: .error(tag: "*", code: .notSignedIn, message: "not signed in within \(describe(signInTimeout))"))
    }

    /// The channel failed: close at once.
    mutating func errorCaught() -> Action {
        guard state != .closed else { return .none }
        return closeNow(flushing: false)
    }

    // MARK: Driving

    /// What to do next given the state: route the next line, write replies, resume reading, or
    /// end the connection. `.none` when there is nothing to do until the next event.
    mutating func nextAction() -> Action {
        guard isAnswering else { return .none }
        if !routing, let item = queue.popFirst() {
            switch item {
            case .line(let bytes):
                if session.terminal == nil {
                    session.linesBeforeSignIn += 1
                    if session.linesBeforeSignIn > Session.maxLinesBeforeSignIn {
                        // No terminal does this: closed at once, not gently (a client that keeps
                        // sending would be read until the gentle close's 2 s are up).
                        Reply.error(tag: "*", code: .notSignedIn, message: "more than \(Session.maxLinesBeforeSignIn) requests before signing in")
                            .encode(into: &unwritten.bytes)
                        unwritten.replies += 1
                        repliesUnsent += 1
                        return closeNow(flushing: true)
                    }
                }
                routing = true
                return .route(bytes)
            case .tooLong:
                // PROTOCOL.md: answer LINE_TOO_LONG, half-close, discard input until the client closes.
                return finish(with: .error(tag: "*", code: .lineTooLong, message: "request line is longer than the limit"))
            }
        }
        let idle = !routing && queue.isEmpty
        if state == .inputClosed, idle, !inReadBurst {
            if repliesUnsent == unwritten.replies {
                state = .closed
                return .close(takeUnwritten())
            }
            // Earlier replies are still being written: close once they are.
            return unwritten.isEmpty ? .none : write()
        }
        if state == .draining, idle, !inReadBurst {
            return finish(with: .error(tag: "*", code: .unavailable, message: "the engine is shutting down"))
        }
        if !unwritten.isEmpty, !inReadBurst {
            return write()
        }
        if readHeld, state == .open, mayRead {
            readHeld = false
            return .resumeRead
        }
        return .none
    }

    // MARK: Helpers

    /// Below the in-flight bound and the write-buffer high-water mark.
    private var mayRead: Bool {
        writable && linesInFlight + repliesUnsent < maxInFlight
    }

    private mutating func holdRead() -> Action {
        guard !readHeld else { return .none }
        readHeld = true
        return .holdRead
    }

    private mutating func write() -> Action {
        .write(takeUnwritten())
    }

    private mutating func takeUnwritten() -> Outbound {
        defer { unwritten = Outbound() }
        return unwritten
    }

    private mutating func finish(with last: Reply?) -> Action {
        state = .finishing
        queue.removeAll()
        routing = false
        readHeld = false
        if let last {
            last.encode(into: &unwritten.bytes)
            unwritten.replies += 1
            repliesUnsent += 1
        }
        return .finish(takeUnwritten())
    }

    private mutating func closeNow(flushing: Bool) -> Action {
        state = .closed
        queue.removeAll()
        routing = false
        readHeld = false
        let out = flushing ? takeUnwritten() : Outbound()
        unwritten = Outbound()
        return .closeNow(out)
    }
}
