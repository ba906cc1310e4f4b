import Logging
import MedsettleStore
import MSLP
import MSLPChannel
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The TCP front: a listening socket whose connections each get (TLS,) a line deadline, a line
/// decoder and a `ConnectionHandler`, with the store's blocking work on a thread pool.
public final class MedsettleServer: Sendable {
    public let channel: any Channel
    public let threadPool: NIOThreadPool
    /// Open connections, for the connection limit and for draining at shutdown.
    private let connections: OpenConnections
    private let logger: Logger

    /// The port actually bound (useful with port 0).
    public var localPort: Int { channel.localAddress?.port ?? 0 }

    /// SO_RCVBUF and SO_SNDBUF of every connection.
    static let socketBufferBytes: SocketOptionValue = 64 * 1024

    private init(channel: any Channel, threadPool: NIOThreadPool,
                 connections: OpenConnections, logger: Logger) {
        self.channel = channel
        self.threadPool = threadPool
        self.connections = connections
        self.logger = logger
    }

    public static func start(configuration: ServerConfiguration, store: Store,
                             metrics: ServerMetrics = ServerMetrics(),
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             logger: Logger = Logger(label: "medsettle.server")) async throws -> MedsettleServer {
        // The store's settlement workers hold connections of their own.
        let threadPool = NIOThreadPool(numberOfThreads: max(1, store.pool.size - store.batching.workers))
        threadPool.start()
        let signInFailures = SignInFailures(.init(maxFailures: configuration.maxSignInFailures,
                                                  window: configuration.signInFailureWindow,
                                                  cooldown: configuration.signInCooldown,
                                                  capacity: SignInFailures.defaultCapacity))
        let router = RequestRouter(store: store, threadPool: threadPool, metrics: metrics,
                                   maxQueued: configuration.maxQueuedRequests, signInFailures: signInFailures, logger: logger)
        let connections = OpenConnections(limit: configuration.maxConnections, perAddress: configuration.maxConnectionsPerAddress)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // Past 64 KiB of replies not yet taken by the kernel a connection stops reading until
            // they drain below 32 KiB (ConnectionHandler): a client that never reads cannot make
            // the server buffer without bound.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 64 * 1024))
            // The kernel's buffers of each connection bounded too: left to autotuning, a client that
            // sends without reading grows the receive buffer of a connection whose reads are held
            // back (and the send buffer of its replies) to megabytes each (tcp_rmem's maximum), and
            // a few hundred such clients push the machine's TCP memory into pressure, where the
            // kernel drops packets of every connection. MSLP lines are small: 64 KiB each way
            // (which the kernel doubles) keeps a LAN connection's throughput far above a terminal's.
            .childChannelOption(.socketOption(.so_rcvbuf), value: Self.socketBufferBytes)
            .childChannelOption(.socketOption(.so_sndbuf), value: Self.socketBufferBytes)
            // Each connection keeps its receive buffer between reads. NIO starts it at 2 KiB; a
            // terminal's lines are a few hundred bytes, and 10 000 idle terminals held 20 MB of
            // such buffers. 512 bytes to start with; it still grows (to 64 KiB) for a connection
            // whose reads fill it.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536))
            .childChannelInitializer { channel in
                let client = ClientAddress(channel.remoteAddress)
                switch connections.admit(channel, from: client) {
                case .admitted:
                    break
                case .draining:
                    // Accepted just before the listener closed: the kernel would have refused it.
                    return channel.close()
                case .full:
                    metrics.connectionsRefused.increment()
                    return refuse(channel, "too many connections", configuration)
                case .addressFull:
                    metrics.connectionsRefusedPerAddress.increment()
                    return refuse(channel, "too many connections from this address", configuration)
                }
                metrics.connectionsOpen.increment()
                channel.closeFuture.whenComplete { _ in
                    connections.remove(channel, from: client)
                    metrics.connectionsOpen.decrement()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try addTLS(sync, configuration)
                    try sync.addHandler(LineDeadlineHandler(deadline: configuration.lineTimeout))
                    try sync.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: configuration.maxLineLength)))
                    try sync.addHandler(ConnectionHandler(router: router, maxInFlight: configuration.maxInFlight,
                                                          idleTimeout: configuration.idleTimeout,
                                                          signInTimeout: configuration.signInTimeout,
                                                          challenge: randomChallenge(), client: client,
                                                          tracing: configuration.tracing, metrics: metrics, logger: logger))
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        logger.info("MSLP listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
                                                 "tls": "\(configuration.tls != nil)"])
        return MedsettleServer(channel: channel, threadPool: threadPool, connections: connections, logger: logger)
    }

    /// Open connections right now.
    public var connectionCount: Int { connections.count }

    /// Graceful stop: closes the listener, lets every connection finish and answer the requests it
    /// has read (reading no more), closes the connections, and waits for them — at most `grace`,
    /// after which whatever is still open is closed at once. Then stops the database threads.
    /// Returns false when the grace ran out.
    @discardableResult
    public func drain(grace: TimeAmount) async -> Bool {
        try? await channel.close()
        let open = connections.startDraining()
        logger.notice("draining connections", metadata: ["open": "\(open.count)"])
        for connection in open {
            connection.pipeline.fireUserInboundEventTriggered(DrainEvent())
        }
        // Wait on the connections' close futures; a timer on the listener's event loop closes the
        // rest at the end of the grace (no polling, and nothing sleeps on a shared thread).
        let loop = channel.eventLoop
        let logger = logger
        let connections = connections
        let deadline = loop.scheduleTask(in: grace) {
            let left = connections.snapshot()
            logger.warning("grace period over; closing connections at once", metadata: ["open": "\(left.count)"])
            for connection in left { connection.close(promise: nil) }
        }
        await connections.allClosed(on: loop)
        deadline.cancel()
        // The timer either ran (its future succeeded) or was cancelled before it ran (failed).
        let clean = (try? await deadline.futureResult.get()) == nil
        try? await threadPool.shutdownGracefully()
        return clean
    }

    /// Closes every connection at once, without waiting (a drain's waits then end).
    public func closeAllNow() {
        channel.close(promise: nil)
        for connection in connections.snapshot() { connection.close(promise: nil) }
    }

    /// Stops listening, closes every connection at once and stops the database threads.
    public func shutdown() async throws {
        try? await channel.close()
        for connection in connections.startDraining() { try? await connection.close() }
        try await threadPool.shutdownGracefully()
    }
}

/// The open connections of a listener, in all and by client address. Once draining, no
/// connection is admitted, so the set only shrinks and "all closed" is final.
final class OpenConnections: Sendable {
    enum Admission { case admitted, full, addressFull, draining }

    private struct State {
        var open: [ObjectIdentifier: any Channel] = [:]
        /// Open connections by client address; an address leaves when its last connection does,
        /// so this holds at most `limit` entries.
        var byAddress: [ClientAddress: Int] = [:]
        var draining = false
    }

    private let limit: Int
    /// 0: no limit per address.
    private let perAddress: Int
    private let state = Mutex(State())

    init(limit: Int, perAddress: Int = 0) {
        self.limit = limit
        self.perAddress = perAddress
    }

    func admit(_ channel: any Channel, from client: ClientAddress? = nil) -> Admission {
        state.withLock { state in
            if state.draining { return .draining }
            guard state.open.count < limit else { return .full }
            if let client, perAddress > 0 {
                let open = state.byAddress[client, default: 0]
                guard open < perAddress else { return .addressFull }
                state.byAddress[client] = open + 1
            }
            state.open[ObjectIdentifier(channel)] = channel
            return .admitted
        }
    }

    /// An admitted connection closed.
    func remove(_ channel: any Channel, from client: ClientAddress? = nil) {
        state.withLock { state in
            guard state.open.removeValue(forKey: ObjectIdentifier(channel)) != nil else { return }
            if let client, perAddress > 0, let open = state.byAddress[client] {
                state.byAddress[client] = open > 1 ? open - 1 : nil
            }
        }
    }

    var count: Int { state.withLock { $0.open.count } }

    func snapshot() -> [any Channel] { state.withLock { Array($0.open.values) } }

    /// Admits no more connections; returns those open now.
    func startDraining() -> [any Channel] {
        state.withLock { state in
            state.draining = true
            return Array(state.open.values)
        }
    }

    /// Returns once every connection open now is closed (and, draining, no new one can open).
    func allClosed(on loop: any EventLoop) async {
        let futures = snapshot().map(\.closeFuture)
        _ = try? await EventLoopFuture.andAllComplete(futures, on: loop).get()
    }
}

/// 16 bytes from the system's cryptographic random source.
func randomChallenge() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

/// TLS first in the pipeline, when the listener has it, with the handshake bounded by the line
/// deadline.
private func addTLS(_ sync: ChannelPipeline.SynchronousOperations, _ configuration: ServerConfiguration) throws {
    guard let tls = configuration.tls else { return }
    try sync.addHandler(NIOSSLServerHandler(context: tls.current))
    try sync.addHandler(HandshakeDeadlineHandler(deadline: configuration.lineTimeout))
}

/// Refuses a connection instead of greeting it, in the connection's own language: inside TLS on a
/// TLS listener (the handshake is bounded by the line deadline), else plain.
private func refuse(_ channel: any Channel, _ message: String, _ configuration: ServerConfiguration) -> EventLoopFuture<Void> {
    channel.eventLoop.makeCompletedFuture {
        let sync = channel.pipeline.syncOperations
        try addTLS(sync, configuration)
        try sync.addHandler(RefusalHandler(message: message))
    }
}

/// Greets a connection over a limit with `* ERR BUSY` and closes it. The line is written once
/// the channel is active (a write from the initializer would come too early; under TLS it waits
/// for the handshake).
private final class RefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Which limit: `too many connections`, or `… from this address`.
    private let message: String

    init(message: String) { self.message = message }

    func channelActive(context: ChannelHandlerContext) {
        var line: [UInt8] = []
        Reply.error(tag: "*", code: .busy, message: message).encode(into: &line)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: line))).assumeIsolated().whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
