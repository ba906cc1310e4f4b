import Logging
import MSLP
import MedsettleCore
import MSLPChannel
import NIOCore

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
    private let logger: Logger
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
    private var outBuffer: [UInt8] = []

    init(router: RequestRouter, maxInFlight: Int, challenge: [UInt8], logger: Logger) {
        precondition(maxInFlight >= 1, "at least one request in flight")
        self.router = router
        self.maxInFlight = maxInFlight
        self.logger = logger
        self.greeting = Greeting(challenge: challenge)
        self.session = Session(challenge: greeting.challenge)
    }

    private let greeting: Greeting

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: greeting.encoded())), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closing { return }
        queue.append(unwrapInboundIn(data))
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
        } else if queue.count >= maxInFlight || closing {
            readPending = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
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
            switch item {
            case .tooLong:
                lineTooLong(context)
            case .line(let bytes):
                let started = NIODeadline.now()
                switch router.route(bytes, session: session, on: context.eventLoop) {
                case .none:
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
        if readPending, !closing, queue.count < maxInFlight {
            readPending = false
            context.read()
        }
        if inputClosed, !busy, queue.isEmpty, !closing {
            closeNow(context)
        }
    }

    /// One debug line per request: terminal, tag, verb, outcome, latency. Never a field value, so
    /// never a PIN, key or QR token.
    private func log(_ line: [UInt8], _ routed: RoutedReply, _ started: NIODeadline) {
        guard logger.logLevel <= .debug else { return }
        let verb = String(decoding: line.prefix { $0 != UInt8(ascii: " ") }.prefix(16), as: UTF8.self).uppercased()
        let outcome: String
        switch routed.reply.outcome {
        case .ok: outcome = "OK"
        case .error(let code, _): outcome = code.rawValue
        }
        let micros = (NIODeadline.now() - started).nanoseconds / 1_000
        logger.debug("request", metadata: [
            "terminal": "\(session.terminal?.terminal ?? "-")", "tag": "\(routed.reply.tag)",
            "verb": "\(verb.allSatisfy { $0.isLetter } ? verb : "?")", "code": "\(outcome)", "latency_us": "\(micros)",
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
        closing = true
        discarding = true
        queue.removeAll()
        Reply.error(tag: "*", code: .lineTooLong, message: "request line is longer than the limit").encode(into: &outBuffer)
        let buffer = context.channel.allocator.buffer(bytes: outBuffer)
        outBuffer.removeAll()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            channel.close(promise: nil)
        }
        // Keep reading (and discarding, in the decoder) so the client's close is noticed.
        context.read()
    }
}
