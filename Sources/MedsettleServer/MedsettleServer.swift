import Logging
import MedsettleStore
import NIOConcurrencyHelpers
import MSLPChannel
import NIOCore
import NIOPosix

/// The limits and address of the MSLP listener.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The longest request line, CR LF not counted (PROTOCOL.md: 16 384 by default).
    public var maxLineLength: Int
    /// Requests read but not yet answered, per connection, before reading pauses (≥ 128).
    public var maxInFlight: Int
    /// Open connections; beyond it a new connection is greeted with `* ERR BUSY` and closed.
    public var maxConnections: Int

    public init(host: String = "127.0.0.1", port: Int = 7411, maxLineLength: Int = 16_384,
                maxInFlight: Int = 128, maxConnections: Int = 4_096) {
        self.host = host
        self.port = port
        self.maxLineLength = maxLineLength
        self.maxInFlight = maxInFlight
        self.maxConnections = maxConnections
    }
}

/// The TCP front: a listening socket whose connections each get a line decoder and a
/// `ConnectionHandler`, with the store's blocking work on a thread pool of the pool's size.
public final class MedsettleServer: Sendable {
    public let channel: any Channel
    public let threadPool: NIOThreadPool
    private let connections: NIOLockedValueBox<Int>

    /// The port actually bound (useful with port 0).
    public var localPort: Int { channel.localAddress?.port ?? 0 }

    private init(channel: any Channel, threadPool: NIOThreadPool, connections: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.threadPool = threadPool
        self.connections = connections
    }

    public static func start(configuration: ServerConfiguration, store: Store,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             logger: Logger = Logger(label: "medsettle.server")) async throws -> MedsettleServer {
        // The store's settlement workers hold connections of their own.
        let threadPool = NIOThreadPool(numberOfThreads: max(1, store.pool.size - store.batching.workers))
        threadPool.start()
        let router = RequestRouter(store: store, threadPool: threadPool, logger: logger)
        let connections = NIOLockedValueBox(0)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                let admitted = connections.withLockedValue { count -> Bool in
                    guard count < configuration.maxConnections else { return false }
                    count += 1
                    return true
                }
                guard admitted else {
                    let refusal = channel.allocator.buffer(string: "* ERR BUSY msg=too%20many%20connections\n")
                    return channel.writeAndFlush(refusal).flatMap { channel.close() }
                }
                channel.closeFuture.whenComplete { _ in connections.withLockedValue { $0 -= 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: configuration.maxLineLength)))
                    try sync.addHandler(ConnectionHandler(router: router, maxInFlight: configuration.maxInFlight,
                                                          challenge: randomChallenge(), logger: logger))
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        logger.info("MSLP listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        return MedsettleServer(channel: channel, threadPool: threadPool, connections: connections)
    }

    /// Open connections right now.
    public var connectionCount: Int { connections.withLockedValue { $0 } }

    /// Stops listening and waits for the database threads to finish their work.
    public func shutdown() async throws {
        try? await channel.close()
        try await threadPool.shutdownGracefully()
    }
}

/// 16 bytes from the system's cryptographic random source.
func randomChallenge() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
}
