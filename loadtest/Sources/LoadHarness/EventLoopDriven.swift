import LoadData
import MSLP
import MSLPChannel
import MedsettleStore
import NIOCore
import NIOPosix
import NIOSSL

/// Connections driven by a channel handler on their event loop rather than by a task over
/// `NIOAsyncChannel`: with a task, every reply costs the client a hop between the event loop and
/// the concurrency pool. On these two shared cores the client's CPU is taken from the engine under
/// test, so the closed-loop mixes that need no second connection (ping, settle) run this way —
/// as pgbench and redis-benchmark drive their connections from an event loop of their own.
enum EventLoopDriven {
    /// Opens `configuration.connections` connections, each with the handler `makeDriver` builds for
    /// it (given its index and the promise it completes when done), and waits for all of them.
    static func run(_ configuration: LoadConfiguration,
                    makeDriver: @escaping @Sendable (Int, EventLoopPromise<Void>) -> SignedInDriver) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for index in 0..<configuration.connections {
                tasks.addTask {
                    let finished = group.next().makePromise(of: Void.self)
                    let channel: any Channel
                    do {
                        channel = try await ClientBootstrap(group: group)
                            .channelOption(.socketOption(.tcp_nodelay), value: 1)
                            .channelInitializer { channel in
                                channel.eventLoop.makeCompletedFuture {
                                    let sync = channel.pipeline.syncOperations
                                    if let tls = configuration.tls {
                                        try sync.addHandler(try NIOSSLClientHandler(
                                            context: tls, serverHostname: MSLPClientTLS.serverName(configuration.host)))
                                    }
                                    try sync.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: 1 << 16)))
                                    try sync.addHandler(makeDriver(index, finished))
                                }
                            }
                            .connect(host: configuration.host, port: configuration.port).get()
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
            try await tasks.waitForAll()
        }
    }
}

/// Drives one connection on its event loop: reads the greeting, signs in as `terminal`, then
/// hands every reply line to `received`; completes `finished` when done (or with the first thing
/// that went wrong). Subclasses override `start` and `received`.
class SignedInDriver: ChannelInboundHandler {
    typealias InboundIn = FramedLine
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingGreeting
        case signingIn
        case running
        case finished
    }

    let terminal: String
    private let finished: EventLoopPromise<Void>
    private var phase = Phase.awaitingGreeting

    init(terminal: String, finished: EventLoopPromise<Void>) {
        self.terminal = terminal
        self.finished = finished
    }

    /// Signed in: send the first request(s).
    func start(_ context: ChannelHandlerContext) {}

    /// One reply line (or unsolicited line) after sign-in.
    func received(_ line: [UInt8], _ context: ChannelHandlerContext) {}

    /// The server closed the connection after sign-in: true to end quietly (the default: it is an
    /// error).
    func serverClosed() -> Bool { false }

    final func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .line(let line) = unwrapInboundIn(data) else {
            return fail(context, LoadError("a line from the server is longer than the client's limit"))
        }
        switch phase {
        case .awaitingGreeting:
            guard let greeting = Greeting.parse(line) else { return fail(context, unexpected(line)) }
            let mac = MAC.hmacSHA256(key: LoadTestData.terminalKey(terminal), message: greeting.macMessage(terminal: terminal))
            phase = .signingIn
            send(context, context.channel.allocator.buffer(string: "SIGNIN s terminal=\(terminal) mac=\(Greeting.hex(mac))\n"))
        case .signingIn:
            guard let reply = ReplyLine.parse(line), reply.ok else {
                return fail(context, LoadError("sign-in as \(terminal) failed: \(String(decoding: line, as: UTF8.self)) (run `medsettle seed`)"))
            }
            phase = .running
            start(context)
        case .running:
            received(line, context)
        case .finished:
            break
        }
    }

    final func channelInactive(context: ChannelHandlerContext) {
        if phase == .running, serverClosed() {
            finish(context)
        } else {
            fail(context, LoadError("the server closed the connection"))
        }
        context.fireChannelInactive()
    }

    final func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, error)
    }

    final func send(_ context: ChannelHandlerContext, _ buffer: ByteBuffer) {
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// Done: completes `finished` and closes the connection.
    final func finish(_ context: ChannelHandlerContext) {
        guard phase != .finished else { return }
        phase = .finished
        finished.succeed()
        context.close(promise: nil)
    }

    final func fail(_ context: ChannelHandlerContext, _ error: any Error) {
        guard phase != .finished else { return }
        phase = .finished
        finished.fail(error)
        context.close(promise: nil)
    }

    final func unexpected(_ line: [UInt8]) -> any Error {
        LoadError("unexpected line from the server: \(String(decoding: line, as: UTF8.self))")
    }
}

/// The settle mix in closed loop: one SETTLE in flight per connection, the next sent from the
/// reply's event-loop turn.
struct SettleLoad {
    let configuration: LoadConfiguration
    let runID: String
    let recorder: ReplyRecorder
    let deadline: ContinuousClock.Instant

    func run() async throws {
        let (configuration, runID, recorder, deadline) = (configuration, runID, recorder, deadline)
        try await EventLoopDriven.run(configuration) { index, finished in
            SettleDriver(terminal: configuration.terminalName(forConnection: index),
                         state: WorkerState(worker: index, runID: runID, configuration: configuration), configuration: configuration,
                         deadline: deadline, recorder: recorder, finished: finished)
        }
    }
}

final class SettleDriver: SignedInDriver {
    private var state: WorkerState
    private let configuration: LoadConfiguration
    private let deadline: ContinuousClock.Instant
    private let recorder: ReplyRecorder
    private var pending: (operation: Operation, sentAt: ContinuousClock.Instant)?

    init(terminal: String, state: WorkerState, configuration: LoadConfiguration, deadline: ContinuousClock.Instant,
         recorder: ReplyRecorder, finished: EventLoopPromise<Void>) {
        self.state = state
        self.configuration = configuration
        self.deadline = deadline
        self.recorder = recorder
        super.init(terminal: terminal, finished: finished)
    }

    override func start(_ context: ChannelHandlerContext) {
        sendNext(context)
    }

    override func received(_ line: [UInt8], _ context: ChannelHandlerContext) {
        guard let reply = ReplyLine.parse(line) else { return fail(context, unexpected(line)) }
        if reply.tag == "*" { return } // the server is closing the connection (a graceful stop, say)
        guard let (operation, sentAt) = pending else { return fail(context, unexpected(line)) }
        pending = nil
        recorder.record(operation.kind, reply, sentAt: sentAt, expectsRefusal: operation.expectsRefusal)
        if ContinuousClock.now < deadline { sendNext(context) } else { finish(context) }
    }

    /// A graceful stop of the engine: the request in flight, if any, was not read (its reply would
    /// have come first), so it moved nothing.
    override func serverClosed() -> Bool {
        recorder.stats.noteClosedByServer()
        return true
    }

    private func sendNext(_ context: ChannelHandlerContext) {
        let operation = state.next(configuration)
        pending = (operation, .now)
        send(context, context.channel.allocator.buffer(string: operation.line + "\n"))
    }
}
