import MSLP
import NIOCore
import NIOTLS

/// Sent by `ConnectionHandler` towards the socket (an outbound user event) when it starts holding
/// reads back (`true`: too much in flight, the channel over its high-water mark, or draining) and
/// when it reads again (`false`). `LineDeadlineHandler` consumes it.
struct ReadsHeld: Sendable, Equatable {
    let held: Bool

    init(_ held: Bool) {
        self.held = held
    }
}

/// Bounds how long a request line may take to arrive: once bytes of an unfinished line are in,
/// the rest of it must follow within `deadline`, or the connection is answered
/// `* ERR BAD_REQUEST` and closed. Later bytes of the same line do not extend the deadline, so a
/// terminal that trickles a byte a minute cannot hold a connection.
///
/// The clock runs only while the server reads: while `ConnectionHandler` holds reads back
/// (`ReadsHeld`), the rest of a line may already wait in the kernel, unread by the server's own
/// choice, so the deadline stops; when reading resumes, a line still unfinished gets a full
/// `deadline` again (remaining time could be too short for the held bytes to be read at all).
/// Holding is bounded by the idle timeout, so a client cannot use it to keep a connection.
///
/// Sits before the line decoder and only looks at where the last LF of each read falls.
final class LineDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let deadline: TimeAmount
    private var timer: Scheduled<Void>?
    /// Bytes of an unfinished line have arrived.
    private var partialLine = false
    /// The connection handler holds reads back: the clock is stopped.
    private var readsHeld = false

    init(deadline: TimeAmount) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if buffer.readableBytes > 0 {
            let endsLine = buffer.readableBytesView.last == UInt8(ascii: "\n")
            let hasLF = buffer.readableBytesView.contains(UInt8(ascii: "\n"))
            if endsLine {
                partialLine = false
                cancel()
            } else if !partialLine || hasLF {
                // A new partial line starts in this read: its clock starts now.
                partialLine = true
                arm(context)
            }
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? ReadsHeld else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        readsHeld = event.held
        if readsHeld {
            cancel()
        } else if partialLine {
            arm(context)
        }
        promise?.succeed(())
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        cancel()
        guard !readsHeld else { return }
        let channel = context.channel
        let limit = describe(deadline)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: deadline) {
            var reply: [UInt8] = []
            Reply.error(tag: "*", code: .badRequest, message: "request line not completed within \(limit)").encode(into: &reply)
            channel.writeAndFlush(channel.allocator.buffer(bytes: reply)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }
}

/// Closes a TLS connection whose handshake has not completed within `deadline` (the line
/// deadline): a client that connects and never speaks TLS cannot hold a connection either.
final class HandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let deadline: TimeAmount
    private var timer: Scheduled<Void>?

    init(deadline: TimeAmount) {
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: deadline) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            timer?.cancel()
            timer = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
