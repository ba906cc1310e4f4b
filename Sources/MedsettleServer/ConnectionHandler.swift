import Logging
import MSLP
import MedsettleCore
import MSLPChannel
import NIOCore

/// Sent down every connection's pipeline when the server shuts down gracefully: finish and answer
/// the requests already read, read no more, then close.
struct DrainEvent: Sendable {}

/// One MSLP connection: greets, then answers its request lines strictly in order.
///
/// Requests of one connection run one after another (a pipelined PINCHANGE is done before the
/// SETTLE behind it), while different connections run in parallel on the database pool. Lines
/// read but not yet answered are queued; at `maxInFlight` the handler stops asking the socket for
/// more (it holds back `read`), so a client that pipelines without reading replies is throttled by
/// TCP flow control instead of growing a buffer here.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = FramedLine
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: RequestRouter
    private let maxInFlight: Int
    private let idleTimeout: TimeAmount
    private let logger: Logger
    private let metrics: ServerMetrics
    private var session: Session
    private var queue = CircularBuffer<FramedLine>(initialCapacity: 16)
    /// A request is being worked on by the store.
    private var busy = false
    /// A `read` was held back because the queue was full.
    private var readPending = false
    /// The client has sent EOF: answer what was read, then close.
    private var inputClosed = false
    /// No more replies: the connection is on its way out.
    private var closing = false
    /// After LINE_TOO_LONG: input is read and dropped until the client closes.
    private var discarding = false
    /// The server is shutting down: no more reads; close once the queue is answered.
    private var draining = false
    private var outBuffer: [UInt8] = []
    private var idleTimer: Scheduled<Void>?
    private var lastActivity = NIODeadline.now()
    /// Lines read and not yet answered (the queue and the one being worked on), for the gauge.
    private var inFlight = 0

    init(router: RequestRouter, maxInFlight: Int, idleTimeout: TimeAmount, challenge: [UInt8],
         metrics: ServerMetrics, logger: Logger) {
        precondition(maxInFlight >= 1, "at least one request in flight")
        self.router = router
        self.maxInFlight = maxInFlight
        self.idleTimeout = idleTimeout
        self.metrics = metrics
        self.logger = logger
        self.greeting = Greeting(challenge: challenge)
        self.session = Session(challenge: greeting.challenge)
    }

    private let greeting: Greeting

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: greeting.encoded())), promise: nil)
        armIdleTimer(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        trackInFlight(to: 0)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closing { return } // finishing: input is dropped
        queue.append(unwrapInboundIn(data))
        trackInFlight(to: inFlight + 1)
        // The replies to the lines of one socket read leave in one write, at channelReadComplete.
        pump(context, flushing: false)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context)
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if discarding {
            context.read()
        } else if queue.count >= maxInFlight || closing || draining {
            readPending = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent {
            draining = true
            pump(context)
            return
        }
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            if discarding { context.close(promise: nil) }
            pump(context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// Answers queued lines until one needs the store (then resumes when it completes).
    private func pump(_ context: ChannelHandlerContext, flushing: Bool = true) {
        while !busy, !closing, let item = queue.popFirst() {
            if case .line = item {} else { trackInFlight(to: inFlight - 1) }
            switch item {
            case .tooLong:
                lineTooLong(context)
            case .line(let bytes):
                let started = NIODeadline.now()
                switch router.route(bytes, session: session, on: context.eventLoop) {
                case .none:
                    trackInFlight(to: inFlight - 1)
                    continue
                case .now(let routed):
                    log(bytes, routed, started)
                    deliver(routed, context)
                case .later(let future):
                    busy = true
                    future.assumeIsolated().whenComplete { result in
                        self.busy = false
                        switch result {
                        case .success(let routed):
                            self.log(bytes, routed, started)
                            self.deliver(routed, context)
                        case .failure:
                            self.closeNow(context)
                        }
                        self.pump(context)
                    }
                }
            }
        }
        if flushing { flush(context) }
        if readPending, !closing, !draining, queue.count < maxInFlight {
            readPending = false
            context.read()
        }
        if inputClosed, !busy, queue.isEmpty, !closing {
            closeNow(context)
        } else if draining, !busy, queue.isEmpty, !closing {
            finish(context, with: .error(tag: "*", code: .unavailable, message: "the engine is shutting down"))
        }
        lastActivity = .now()
    }

    /// Closes the connection once it has been `idleTimeout` without a request or a reply. One
    /// timer per connection, re-armed only when it fires early, not on every request.
    private func armIdleTimer(_ context: ChannelHandlerContext, at deadline: NIODeadline? = nil) {
        guard !closing else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline ?? .now() + idleTimeout) { [self] in
            let due = lastActivity + idleTimeout
            guard !busy, queue.isEmpty, due <= .now() else {
                armIdleTimer(context, at: max(due, .now() + .seconds(1)))
                return
            }
            finish(context, with: .error(tag: "*", code: .busy, message: "closing a connection idle for \(describe(idleTimeout))"))
        }
    }

    /// Keeps the in-flight gauge equal to the sum of every connection's `inFlight`.
    private func trackInFlight(to count: Int) {
        let delta = max(0, count) - inFlight
        guard delta != 0 else { return }
        inFlight += delta
        metrics.requestsInFlight.increment(by: Double(delta))
    }

    /// One line per request (terminal, institution, tag, verb, code, latency) and its metrics.
    /// Never a field value, so never a PIN, key or QR token.
    private func log(_ line: [UInt8], _ routed: RoutedReply, _ started: NIODeadline) {
        trackInFlight(to: inFlight - 1)
        let word = String(decoding: line.prefix { $0 != UInt8(ascii: " ") }.prefix(16), as: UTF8.self).uppercased()
        let verb = Verb(rawValue: word)?.rawValue ?? "?"
        let code: String
        switch routed.reply.outcome {
        case .ok: code = "OK"
        case .error(let error, _): code = error.rawValue
        }
        let nanoseconds = (NIODeadline.now() - started).nanoseconds
        metrics.answered(verb: verb, code: code, nanoseconds: nanoseconds)
        guard logger.logLevel <= .info else { return }
        logger.info("request", metadata: [
            "terminal": "\(session.terminal?.terminal ?? "-")", "institution": "\(session.terminal?.institution ?? "-")",
            "tag": "\(routed.reply.tag)", "verb": "\(verb)", "code": "\(code)", "latency_us": "\(nanoseconds / 1_000)",
        ])
    }

    private func deliver(_ routed: RoutedReply, _ context: ChannelHandlerContext) {
        routed.reply.encode(into: &outBuffer)
        switch routed.action {
        case .none:
            break
        case .signedIn(let terminal):
            session.terminal = terminal
            session.authFailures = 0
        case .authFailed:
            session.authFailures += 1
            if session.authFailures >= Session.maxAuthFailures { closeNow(context) }
        case .close:
            closeNow(context)
        }
    }

    private func flush(_ context: ChannelHandlerContext) {
        guard !outBuffer.isEmpty, context.channel.isActive else {
            outBuffer.removeAll(keepingCapacity: true)
            return
        }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: outBuffer)), promise: nil)
        outBuffer.removeAll(keepingCapacity: true)
    }

    /// Flushes what was answered and closes.
    private func closeNow(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        queue.removeAll()
        flush(context)
        context.close(promise: nil)
    }

    /// PROTOCOL.md: answer `* ERR LINE_TOO_LONG`, half-close, and discard input until the client
    /// closes or 2 s pass, so that the reply is not lost to a reset.
    private func lineTooLong(_ context: ChannelHandlerContext) {
        finish(context, with: .error(tag: "*", code: .lineTooLong, message: "request line is longer than the limit"))
    }

    /// Ends the connection from the server's side: sends what is answered and `last`, half-closes,
    /// and reads and drops input until the client closes or 2 s pass. Closing at once while the
    /// client's bytes are unread would make the kernel send a reset, which can destroy the last
    /// replies before the client reads them.
    private func finish(_ context: ChannelHandlerContext, with last: Reply?) {
        guard !closing else { return }
        closing = true
        discarding = true
        queue.removeAll()
        idleTimer?.cancel()
        last?.encode(into: &outBuffer)
        let buffer = context.channel.allocator.buffer(bytes: outBuffer)
        outBuffer.removeAll()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            channel.close(promise: nil)
        }
        // Keep reading (and dropping) so the client's close is noticed.
        context.read()
    }
}

/// "400 ms", "30 s": a limit as people read it in an error message.
func describe(_ amount: TimeAmount) -> String {
    let milliseconds = amount.nanoseconds / 1_000_000
    return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
}
