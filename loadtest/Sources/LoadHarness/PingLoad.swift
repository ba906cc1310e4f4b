import MSLP
import MSLPChannel
import MedsettleStore
import NIOCore
import NIOPosix
import NIOSSL

/// The ping mix: on each signed-in connection, `pipeline` PINGs sent at once, their replies read,
/// again until the deadline — the front alone (framing, parse, route, encode, the socket), no
/// database, comparable with `redis-benchmark -t ping_inline` (whose `-P` is the pipeline depth).
///
/// Each connection is driven by a channel handler on the event loop instead of a task over
/// `NIOAsyncChannel`: with a task, every reply costs the client a hop between the event loop and
/// the concurrency pool, and the client then spent about twice the server's CPU per PING on the
/// same two cores — the figure measured the harness more than the front.
struct PingLoad {
    let configuration: LoadConfiguration
    let recorder: ReplyRecorder
    let deadline: ContinuousClock.Instant

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let batch = Array((1...configuration.pipeline).map { "PING p\($0)\n" }.joined().utf8)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for index in 0..<configuration.connections {
                let driver = PingDriver.Settings(terminal: LoadTestData.terminal(configuration.terminal(forConnection: index)),
                                                 batch: batch, pipeline: configuration.pipeline,
                                                 deadline: deadline, recorder: recorder)
                tasks.addTask {
                    try await Self.drive(driver, host: configuration.host, port: configuration.port, tls: configuration.tls, group: group)
                }
            }
            try await tasks.waitForAll()
        }
    }

    /// One connection, from connect to the deadline.
    private static func drive(_ settings: PingDriver.Settings, host: String, port: Int, tls: NIOSSLContext?,
                              group: any EventLoopGroup) async throws {
        let finished = group.next().makePromise(of: Void.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if let tls {
                            try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: MSLPClientTLS.serverName(host)))
                        }
                        try sync.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: 1 << 16)))
                        try sync.addHandler(PingDriver(settings, finished: finished))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            finished.fail(error)
            throw error
        }
        do {
            try await finished.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }
}

/// Drives one ping connection on its event loop: greeting, SIGNIN, then batches of PINGs until
/// the deadline; completes `finished` when done (or with the first thing that went wrong).
final class PingDriver: ChannelInboundHandler {
    typealias InboundIn = FramedLine
    typealias OutboundOut = ByteBuffer

    struct Settings: Sendable {
        let terminal: String
        /// `PING p1` … `PING pN`, sent as one write.
        let batch: [UInt8]
        let pipeline: Int
        let deadline: ContinuousClock.Instant
        let recorder: ReplyRecorder
    }

    private enum State {
        case awaitingGreeting
        case signingIn
        /// A batch is out since `sentAt`; `answered` of its replies have come.
        case pinging(sentAt: ContinuousClock.Instant, answered: Int)
        case finished
    }

    private let settings: Settings
    private let finished: EventLoopPromise<Void>
    /// The replies in order, as their bytes: `p1 OK` … `pN OK`.
    private let expectedReplies: [[UInt8]]
    private var batchBuffer: ByteBuffer?
    private var state = State.awaitingGreeting

    init(_ settings: Settings, finished: EventLoopPromise<Void>) {
        self.settings = settings
        self.finished = finished
        self.expectedReplies = (1...settings.pipeline).map { Array("p\($0) OK".utf8) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        batchBuffer = context.channel.allocator.buffer(bytes: settings.batch)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .line(let line) = unwrapInboundIn(data) else {
            return fail(context, LoadError("a line from the server is longer than the client's limit"))
        }
        switch state {
        case .awaitingGreeting:
            guard let greeting = Greeting.parse(line) else { return fail(context, unexpected(line)) }
            let key = LoadTestData.terminalKey(settings.terminal)
            let mac = MAC.hmacSHA256(key: key, message: greeting.macMessage(terminal: settings.terminal))
            state = .signingIn
            send(context, context.channel.allocator.buffer(string: "SIGNIN s terminal=\(settings.terminal) mac=\(Greeting.hex(mac))\n"))
        case .signingIn:
            guard let reply = ReplyLine.parse(line), reply.ok else {
                return fail(context, LoadError("sign-in as \(settings.terminal) failed: \(String(decoding: line, as: UTF8.self)) (run `medsettle seed`)"))
            }
            sendBatch(context)
        case .pinging(let sentAt, let answered):
            guard line == expectedReplies[answered] else { return fail(context, unexpected(line)) }
            settings.recorder.record(.ping, code: "OK", sentAt: sentAt)
            if answered + 1 < settings.pipeline {
                state = .pinging(sentAt: sentAt, answered: answered + 1)
            } else if ContinuousClock.now < settings.deadline {
                sendBatch(context)
            } else {
                state = .finished
                finished.succeed()
                context.close(promise: nil)
            }
        case .finished:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context, LoadError("the server closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, error)
    }

    private func sendBatch(_ context: ChannelHandlerContext) {
        state = .pinging(sentAt: .now, answered: 0)
        send(context, batchBuffer!)
    }

    private func send(_ context: ChannelHandlerContext, _ buffer: ByteBuffer) {
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: any Error) {
        if case .finished = state { return }
        state = .finished
        finished.fail(error)
        context.close(promise: nil)
    }

    private func unexpected(_ line: [UInt8]) -> any Error {
        LoadError("unexpected line from the server: \(String(decoding: line, as: UTF8.self))")
    }
}
