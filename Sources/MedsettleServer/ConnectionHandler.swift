import Logging
import MSLP
import MedsettleCore
import MSLPChannel
import NIOCore
import Tracing

/// Sent down every connection's pipeline when the server shuts down gracefully: finish and answer
/// the requests already read, read no more, then close.
struct DrainEvent: Sendable {}

/// What the connection needs from the router: a line and the session in, a reply (now or later)
/// out. `RequestRouter` in the server; a fake in the tests.
protocol RequestRouting {
    /// - Parameter trace: the request's span context, when it is traced (work for it links to it).
    func route(_ line: [UInt8], session: Session, trace: ServiceContext?, on eventLoop: any EventLoop) -> RouteStep
}

extension RequestRouter: RequestRouting {}

/// One MSLP connection: greets, then answers its request lines strictly in order.
///
/// A thin shell around `ConnectionStateMachine`: every channel event goes to the machine, and the
/// handler performs the actions it returns (route a line, write replies, pass or hold a read,
/// close). Requests of one connection run one after another (a pipelined PINCHANGE is done before
/// the SETTLE behind it), while different connections run in parallel on the database pool.
///
/// When the machine holds reads back, the handler tells the line deadline (`ReadsHeld`, an
/// outbound user event, which travels towards the socket and reaches `LineDeadlineHandler`), so
/// a line half-read while the server itself is not reading is not timed out.
final class ConnectionHandler<Router: RequestRouting>: ChannelDuplexHandler {
    typealias InboundIn = FramedLine
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: Router
    private let idleTimeout: TimeAmount
    private let logger: Logger
    private let metrics: ServerMetrics
    private let greeting: Greeting
    /// Nil: requests are not traced.
    private let tracing: RequestTracing?
    private var machine: ConnectionStateMachine
    private var idleTimer: Scheduled<Void>?
    private var signInTimer: Scheduled<Void>?
    private var lastActivity = NIODeadline.now()
    /// This connection's share of the in-flight gauge (the machine's `linesInFlight`, last seen).
    private var inFlight = 0

    /// - Parameter client: where the connection comes from, for the sign-in failures counted per
    ///   address.
    init(router: Router, maxInFlight: Int, idleTimeout: TimeAmount, signInTimeout: TimeAmount = .seconds(10),
         challenge: [UInt8], client: ClientAddress? = nil, tracing: RequestTracing? = nil, metrics: ServerMetrics, logger: Logger) {
        self.router = router
        self.tracing = tracing
        self.idleTimeout = idleTimeout
        self.metrics = metrics
        self.logger = logger
        self.greeting = Greeting(challenge: challenge)
        self.machine = ConnectionStateMachine(maxInFlight: maxInFlight, idleTimeout: idleTimeout, signInTimeout: signInTimeout,
                                              session: Session(challenge: greeting.challenge, client: client))
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: greeting.encoded())), promise: nil)
        armIdleTimer(context)
        armSignInTimer(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        signInTimer?.cancel()
        trackInFlight(to: 0)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The replies to the lines of one socket read leave in one write, at channelReadComplete.
        perform(machine.lineRead(unwrapInboundIn(data)), context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        perform(machine.readComplete(), context)
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        perform(machine.writabilityChanged(writable: context.channel.isWritable), context)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        perform(machine.readRequested(), context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent {
            perform(machine.drainRequested(), context)
            return
        }
        if case ChannelEvent.inputClosed = event {
            perform(machine.inputClosed(), context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        perform(machine.errorCaught(), context)
    }

    /// Performs `first` and whatever the machine asks for next, until it has nothing more to do
    /// or waits for the router.
    private func perform(_ first: ConnectionStateMachine.Action, _ context: ChannelHandlerContext) {
        var action = first
        while true {
            switch action {
            case .none:
                trackInFlight(to: machine.linesInFlight)
                return
            case .route(let line):
                lastActivity = .now()
                let started = NIODeadline.now()
                // An empty line is no request (ignored, unanswered): no span.
                let span = line.isEmpty ? nil : tracing?.start(verb: Self.verb(of: line))
                switch router.route(line, session: machine.session, trace: span?.recordedContext, on: context.eventLoop) {
                case .none:
                    span?.endUnanswered()
                    action = machine.lineIgnored()
                case .now(let routed):
                    log(line, routed, started, span)
                    action = machine.replyReady(routed)
                case .later(let future):
                    future.assumeIsolated().whenComplete { result in
                        switch result {
                        case .success(let routed):
                            self.log(line, routed, started, span)
                            self.perform(self.machine.replyReady(routed), context)
                        case .failure:
                            span?.endUnanswered()
                            self.perform(self.machine.routeFailed(), context)
                        }
                    }
                    // Meanwhile the replies before this line leave.
                    action = machine.nextAction()
                }
                continue
            case .write(let out):
                send(out, context)
            case .read:
                context.read()
            case .holdRead:
                context.triggerUserOutboundEvent(ReadsHeld(true), promise: nil)
            case .resumeRead:
                context.triggerUserOutboundEvent(ReadsHeld(false), promise: nil)
                context.read()
            case .close(let out):
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: out.bytes))).assumeIsolated().whenComplete { _ in
                    channel.close(promise: nil)
                }
            case .closeNow(let out):
                if !out.isEmpty, context.channel.isActive {
                    context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: out.bytes)), promise: nil)
                }
                context.close(promise: nil)
            case .finish(let out):
                finish(out, context)
            }
            action = machine.nextAction()
        }
    }

    /// Writes one batch of replies; when the write is done (the bytes are with the kernel) the
    /// machine may let reading go on.
    private func send(_ out: ConnectionStateMachine.Outbound, _ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let replies = out.replies
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: out.bytes))).assumeIsolated().whenComplete { _ in
            self.lastActivity = .now()
            self.perform(self.machine.writeCompleted(replies: replies), context)
        }
    }

    /// Ends the connection from the server's side: sends the answered replies and the last line,
    /// half-closes, and reads and drops input until the client closes or 2 s pass. Closing at once
    /// while the client's bytes are unread would make the kernel send a reset, which can destroy
    /// the last replies before the client reads them.
    private func finish(_ out: ConnectionStateMachine.Outbound, _ context: ChannelHandlerContext) {
        idleTimer?.cancel()
        signInTimer?.cancel()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: out.bytes))).assumeIsolated().whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            channel.close(promise: nil)
        }
        // Keep reading (and dropping) so the client's close is noticed.
        context.read()
    }

    /// Closes the connection once it has been `idleTimeout` without a request or a reply (a reply
    /// counts when the client has taken it). One timer per connection, re-armed only when it
    /// fires early, not on every request; `finish` and `channelInactive` cancel it.
    private func armIdleTimer(_ context: ChannelHandlerContext, at deadline: NIODeadline? = nil) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline ?? .now() + idleTimeout) { [self] in
            let due = lastActivity + idleTimeout
            let action = due <= .now() ? machine.idleTimerFired() : .none
            if case .none = action {
                armIdleTimer(context, at: max(due, .now() + .seconds(1)))
            } else {
                perform(action, context)
            }
        }
    }

    /// Ends the connection if it has not signed in `signInTimeout` after it was accepted (the
    /// machine ignores the timer once it has). One timer per connection; `finish` and
    /// `channelInactive` cancel it.
    private func armSignInTimer(_ context: ChannelHandlerContext) {
        signInTimer = context.eventLoop.assumeIsolated().scheduleTask(in: machine.signInTimeout) { [self] in
            signInTimer = nil
            let action = machine.signInTimerFired()
            if case .finish = action { metrics.signInTimeouts.increment() }
            perform(action, context)
        }
    }

    /// Keeps the in-flight gauge equal to the sum of every connection's lines in flight.
    private func trackInFlight(to count: Int) {
        let delta = count - inFlight
        guard delta != 0 else { return }
        inFlight = count
        metrics.requestsInFlight.increment(by: Double(delta))
    }

    /// A request line's verb as the metrics, the log and the spans name it; `?` when it is none.
    private static func verb(of line: [UInt8]) -> String {
        let word = String(decoding: line.prefix { $0 != UInt8(ascii: " ") }.prefix(16), as: UTF8.self).uppercased()
        return Verb(rawValue: word)?.rawValue ?? "?"
    }

    /// One line per request (terminal, institution, tag, verb, code, latency, and the trace id
    /// when the request is traced), its metrics, and the end of its span. Never a field value, so
    /// never a PIN, key or QR token.
    private func log(_ line: [UInt8], _ routed: RoutedReply, _ started: NIODeadline, _ span: RequestSpan?) {
        let verb = Self.verb(of: line)
        let code: String
        switch routed.reply.outcome {
        case .ok: code = "OK"
        case .error(let error, _): code = error.rawValue
        }
        let nanoseconds = (NIODeadline.now() - started).nanoseconds
        metrics.answered(verb: verb, code: code, nanoseconds: nanoseconds)
        let session = machine.session
        let terminal = session.terminal?.terminal ?? "-"
        let institution = session.terminal?.institution ?? "-"
        // Read before the span ends: an ended span is no longer recording.
        let traceID = span?.loggedTraceID
        span?.end(terminal: terminal, institution: institution, tag: routed.reply.tag, code: code)
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "terminal": .string(terminal), "institution": .string(institution),
            "tag": .string(routed.reply.tag), "verb": .string(verb), "code": .string(code), "latency_us": .string(String(nanoseconds / 1_000)),
        ]
        if let traceID { metadata["trace_id"] = .string(traceID) }
        logger.info("request", metadata: metadata)
    }
}

/// "400 ms", "30 s": a limit as people read it in an error message.
func describe(_ amount: TimeAmount) -> String {
    let milliseconds = amount.nanoseconds / 1_000_000
    return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
}
