import Logging
import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleStore
import MetricsTestKit
import NIOCore
import NIOEmbedded
import Tracing
import Testing

@testable import MedsettleServer

/// Answers `PING tag` at once, `SLOW tag` when the test completes its promise, `SIGNOUT tag`
/// with the close action, `SIGNIN tag` as a failed sign-in and `LOGIN tag` as a sign-in of
/// P001-01; an empty line with nothing.
final class FakeRouter: RequestRouting {
    private(set) var routed: [String] = []
    private(set) var pending: [EventLoopPromise<RoutedReply>] = []

    func route(_ line: [UInt8], session: Session, trace: ServiceContext?, on eventLoop: any EventLoop) -> RouteStep {
        let text = String(decoding: line, as: UTF8.self)
        guard !text.isEmpty else { return .none }
        routed.append(text)
        let words = text.split(separator: " ").map(String.init)
        let tag = words.count > 1 ? words[1] : "*"
        switch words[0] {
        case "SLOW":
            let promise = eventLoop.makePromise(of: RoutedReply.self)
            pending.append(promise)
            return .later(promise.futureResult)
        case "SIGNOUT":
            return .now(RoutedReply(reply: .ok(tag: tag), action: .close))
        case "SIGNIN":
            return .now(RoutedReply(reply: .error(tag: tag, code: .authFailed, message: "sign-in failed"), action: .authFailed))
        case "LOGIN":
            let terminal = TerminalContext(terminal: "P001-01", institution: "P001", kind: .pharmacy, level: 0)
            return .now(RoutedReply(reply: .ok(tag: tag), action: .signedIn(terminal, SignedInStanding(keyVersion: 1, disabledCount: 0))))
        default:
            return .now(RoutedReply(reply: .ok(tag: tag), action: .none))
        }
    }

    /// Answers the oldest SLOW line with OK.
    func answer(_ tag: String) {
        pending.removeFirst().succeed(RoutedReply(reply: .ok(tag: tag), action: .none))
    }
}

/// Stands in for the socket at the head of the pipeline: counts the reads that reach it, records
/// closes (a half-close is only recorded: EmbeddedChannel would close outright) and the
/// `ReadsHeld` events, and while `full` keeps writes unfinished, like a socket whose send buffer
/// the client does not drain.
final class SocketDouble: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer

    private(set) var reads = 0
    private(set) var closes: [CloseMode] = []
    private(set) var readsHeld: [Bool] = []
    var full = false
    private var parked: [(NIOAny, EventLoopPromise<Void>?)] = []
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if full { parked.append((data, promise)) } else { context.write(data, promise: promise) }
    }

    func flush(context: ChannelHandlerContext) {
        if !full { context.flush() }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        closes.append(mode)
        if mode == .output { promise?.succeed(()) } else { context.close(mode: mode, promise: promise) }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let event = event as? ReadsHeld { readsHeld.append(event.held) }
        promise?.succeed(())
    }

    /// The client reads: the parked writes go out.
    func drain() {
        full = false
        guard let context else { return }
        for (data, promise) in parked { context.write(data, promise: promise) }
        parked.removeAll()
        context.flush()
    }
}

/// The handler on an EmbeddedChannel with a fake router: what the socket sees.
@Suite struct ConnectionHandlerTests {
    struct Harness {
        let channel = EmbeddedChannel()
        let socket = SocketDouble()
        let router = FakeRouter()

        let metrics = TestMetrics()

        init(maxInFlight: Int = 128) throws {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            try channel.pipeline.syncOperations.addHandler(socket)
            try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(router: router, maxInFlight: maxInFlight, idleTimeout: .seconds(300), signInTimeout: .seconds(10),
                                  challenge: Array(repeating: 0, count: 16), metrics: ServerMetrics(factory: metrics), logger: logger))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            #expect(try written() == ["* HELLO proto=MSLP/1 challenge=" + String(repeating: "0", count: 32)])
        }

        /// One socket read carrying these lines.
        func receive(_ lines: String...) {
            for line in lines { channel.pipeline.fireChannelRead(NIOAny(FramedLine.line(Array(line.utf8)))) }
            channel.pipeline.fireChannelReadComplete()
        }

        /// The lines written to the socket since the last call.
        func written() throws -> [String] {
            var lines: [String] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                lines += String(buffer: buffer).split(separator: "\n").map(String.init)
            }
            return lines
        }

        /// What NIO does after every read when auto-read is on: ask for the next one.
        func askToRead() { channel.read() }
    }

    @Test func repliesLeaveInOrderAndASlowLineDoesNotHoldBackEarlierReplies() throws {
        let h = try Harness()
        h.receive("PING a", "SLOW b", "PING c")
        #expect(try h.written() == ["a OK"])
        h.router.answer("b")
        #expect(try h.written() == ["b OK", "c OK"])
        #expect(h.router.routed == ["PING a", "SLOW b", "PING c"])
    }

    @Test func signOutHalfClosesAndDrainsInsteadOfClosingOutright() throws {
        let h = try Harness()
        h.receive("SIGNOUT t1", "PING t2")
        #expect(try h.written() == ["t1 OK"])
        // Output half-closed, the connection still open: a reset cannot swallow the reply.
        #expect(h.socket.closes == [.output])
        #expect(h.channel.isActive)
        h.receive("PING t3") // the client's unread input is read and dropped
        #expect(try h.written().isEmpty)
        #expect(h.router.routed == ["SIGNOUT t1"])
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(h.socket.closes == [.output, .all])
        #expect(!h.channel.isActive)
    }

    @Test func theThirdFailedSignInHalfClosesToo() throws {
        let h = try Harness()
        h.receive("SIGNIN a")
        h.receive("SIGNIN b")
        #expect(h.socket.closes.isEmpty)
        h.receive("SIGNIN c")
        #expect(try h.written().count == 3)
        #expect(h.socket.closes == [.output])
        #expect(h.channel.isActive)
    }

    @Test func aConnectionNotSignedInIsFinishedAtTheSignInDeadline() throws {
        let h = try Harness()
        h.receive("PING a")
        #expect(try h.written() == ["a OK"])
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(try h.written().isEmpty)
        #expect(h.socket.closes.isEmpty)
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(try h.written() == ["* ERR NOT_SIGNED_IN msg=not%20signed%20in%20within%2010%20s"])
        #expect(h.socket.closes == [.output]) // finished gently, like every server-side close
        #expect(try h.metrics.expectCounter("medsettle_signin_timeouts_total").totalValue == 1)
        h.receive("LOGIN late") // too late: read and dropped
        #expect(try h.written().isEmpty)
    }

    @Test func aSignedInConnectionOutlivesTheSignInDeadline() throws {
        let h = try Harness()
        h.receive("LOGIN a")
        #expect(try h.written() == ["a OK"])
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(h.socket.closes.isEmpty)
        h.receive("PING b")
        #expect(try h.written() == ["b OK"])
        #expect(try h.metrics.expectCounter("medsettle_signin_timeouts_total").totalValue == 0)
    }

    @Test func theClientsCloseEndsTheDrainAtOnce() throws {
        let h = try Harness()
        h.receive("SIGNOUT t1")
        h.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(h.socket.closes == [.output, .all])
    }

    @Test func readsStopAtTheInFlightBoundAndTheLineDeadlineIsTold() throws {
        let h = try Harness(maxInFlight: 2)
        h.askToRead()
        #expect(h.socket.reads == 1)
        h.receive("SLOW a", "SLOW b")
        h.askToRead()
        #expect(h.socket.reads == 1)
        #expect(h.socket.readsHeld == [true])
        h.router.answer("a")
        #expect(try h.written() == ["a OK"])
        #expect(h.socket.reads == 2)
        #expect(h.socket.readsHeld == [true, false])
    }

    @Test func repliesTheClientDoesNotTakeStopReading() throws {
        let h = try Harness(maxInFlight: 3)
        h.socket.full = true
        h.receive("PING a", "PING b", "PING c")
        h.askToRead()
        #expect(h.socket.reads == 0) // three replies unsent: nothing more is read
        #expect(h.socket.readsHeld == [true])
        h.socket.drain()
        #expect(try h.written() == ["a OK", "b OK", "c OK"])
        #expect(h.socket.reads == 1)
        #expect(h.socket.readsHeld == [true, false])
    }

    @Test func anUnwritableChannelStopsReadingUntilWritable() throws {
        let h = try Harness()
        h.channel.isWritable = false
        h.channel.pipeline.fireChannelWritabilityChanged()
        h.askToRead()
        #expect(h.socket.reads == 0)
        h.channel.isWritable = true
        h.channel.pipeline.fireChannelWritabilityChanged()
        #expect(h.socket.reads == 1)
        #expect(h.socket.readsHeld == [true, false])
    }

    @Test func eofAfterPipelinedLinesAnswersEveryOneThenCloses() throws {
        let h = try Harness()
        h.receive("PING a", "SLOW b")
        h.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(h.channel.isActive)
        h.router.answer("b")
        #expect(try h.written() == ["a OK", "b OK"])
        #expect(h.socket.closes == [.all])
    }

    @Test func drainAnswersWhatWasReadThenFinishesUnavailable() throws {
        let h = try Harness()
        h.receive("SLOW a")
        h.channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
        h.askToRead()
        #expect(h.socket.reads == 0)
        h.router.answer("a")
        #expect(try h.written() == ["a OK", "* ERR UNAVAILABLE msg=the%20engine%20is%20shutting%20down"])
        #expect(h.socket.closes == [.output])
    }

    @Test func aLineTooLongIsAnsweredInItsTurnThenTheConnectionDrains() throws {
        let h = try Harness()
        h.channel.pipeline.fireChannelRead(NIOAny(FramedLine.line(Array("PING a".utf8))))
        h.channel.pipeline.fireChannelRead(NIOAny(FramedLine.tooLong))
        h.channel.pipeline.fireChannelReadComplete()
        #expect(try h.written() == ["a OK", "* ERR LINE_TOO_LONG msg=request%20line%20is%20longer%20than%20the%20limit"])
        #expect(h.socket.closes == [.output])
    }
}

/// The partial-line deadline, and its pause while the server holds reads back.
@Suite struct LineDeadlineTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(LineDeadlineHandler(deadline: .seconds(30)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func aPartialLineIsClosedAfterTheDeadline() throws {
        let channel = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "PING t1 x="))
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }
            == "* ERR BAD_REQUEST msg=request%20line%20not%20completed%20within%2030%20s\n")
        #expect(!channel.isActive)
    }

    @Test func theDeadlinePausesWhileReadsAreHeldAndStartsAfreshAfter() throws {
        let channel = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "PING t1\nPING t2 x="))
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        channel.pipeline.triggerUserOutboundEvent(ReadsHeld(true), promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(600))
        #expect(channel.isActive)
        channel.pipeline.triggerUserOutboundEvent(ReadsHeld(false), promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func aLineCompletedBeforeReadsResumeNeedsNoDeadline() throws {
        let channel = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "PING t1 x="))
        channel.pipeline.triggerUserOutboundEvent(ReadsHeld(true), promise: nil)
        channel.pipeline.triggerUserOutboundEvent(ReadsHeld(false), promise: nil)
        try channel.writeInbound(ByteBuffer(string: "1\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(600))
        #expect(channel.isActive)
    }
}
