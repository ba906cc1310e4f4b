import Crypto
import MSLP
import NIOCore
import NIOPosix
import NIOSSL

/// A client connection to an MSLP server, for the CLI client, the tests and the load harness.
///
/// Use it inside `MSLPClient.withConnection`, which closes the connection when the body returns.
/// Not thread-safe: one task drives one connection.
public final class MSLPConnection {
    public struct Closed: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "the server closed the connection" }
    }

    public struct UnexpectedLine: Error, CustomStringConvertible {
        public let line: String
        public var description: String { "unexpected line from the server: \(line)" }
    }

    private var inbound: NIOAsyncChannelInboundStream<FramedLine>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let allocator: ByteBufferAllocator
    private var nextTag = 0
    /// The greeting the server opened with.
    public private(set) var greeting: Greeting?

    init(inbound: NIOAsyncChannelInboundStream<FramedLine>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.allocator = ByteBufferAllocator()
    }

    /// The next line from the server without its LF, or nil at EOF.
    public func readLine() async throws -> [UInt8]? {
        switch try await inbound.next() {
        case .line(let bytes)?: return bytes
        case .tooLong?: throw UnexpectedLine(line: "(a line longer than the client's limit)")
        case nil: return nil
        }
    }

    /// Sends bytes as they are (tests use this for malformed input).
    public func send(raw bytes: [UInt8]) async throws {
        try await outbound.write(allocator.buffer(bytes: bytes))
    }

    /// Half-closes: the server sees EOF, answers what it has read, then closes.
    public func finishSending() {
        outbound.finish()
    }

    /// Sends one request line (LF added) and returns its reply.
    public func request(_ line: String) async throws -> ReplyLine {
        try await send(raw: Array((line + "\n").utf8))
        return try await readReply()
    }

    /// Sends a request and returns its reply.
    public func request(_ request: Request) async throws -> ReplyLine {
        try await send(raw: request.encoded())
        return try await readReply()
    }

    /// Builds a request with a fresh tag (`c1`, `c2`, …).
    public func request(_ verb: Verb, _ fields: KeyValuePairs<String, String>) async throws -> ReplyLine {
        try await request(Request(tag: freshTag(), verb: verb, fields))
    }

    /// Sends many requests at once, then reads their replies (in order).
    public func pipeline(_ lines: [String]) async throws -> [ReplyLine] {
        var bytes: [UInt8] = []
        for line in lines { bytes.append(contentsOf: line.utf8); bytes.append(UInt8(ascii: "\n")) }
        try await send(raw: bytes)
        var replies: [ReplyLine] = []
        for _ in lines { replies.append(try await readReply()) }
        return replies
    }

    public func readReply() async throws -> ReplyLine {
        guard let line = try await readLine() else { throw Closed() }
        guard let reply = ReplyLine.parse(line) else { throw UnexpectedLine(line: String(decoding: line, as: UTF8.self)) }
        return reply
    }

    public func freshTag() -> String {
        nextTag += 1
        return "c\(nextTag)"
    }

    /// Signs in with the terminal's key (`SIGNIN terminal= mac=`) and returns the reply.
    public func signIn(terminal: String, key: [UInt8]) async throws -> ReplyLine {
        guard let greeting else { throw UnexpectedLine(line: "(no greeting)") }
        let mac = MAC.signIn(key: key, challenge: greeting.challenge, terminal: terminal)
        return try await request(.signIn, ["terminal": terminal, "mac": Greeting.hex(mac)])
    }

    fileprivate func readGreeting() async throws {
        guard let line = try await readLine() else { throw Closed() }
        guard let greeting = Greeting.parse(line) else {
            throw UnexpectedLine(line: String(decoding: line, as: UTF8.self))
        }
        self.greeting = greeting
    }
}

public enum MSLPClient {
    /// Connects, reads the greeting, runs `body`, and closes the connection.
    /// - Parameter tls: speak TLS (see `MSLPClientTLS`); the server's certificate is verified
    ///   against `host` (a name, or an IP address in the certificate's subject alternative names).
    public static func withConnection<Result: Sendable>(
        host: String, port: Int, maxLineLength: Int = 1 << 20, tls: NIOSSLContext? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (MSLPConnection) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: MSLPClientTLS.serverName(host)))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: maxLineLength)))
                    return try NIOAsyncChannel<FramedLine, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            let connection = MSLPConnection(inbound: inbound, outbound: outbound)
            try await connection.readGreeting()
            return try await body(connection)
        }
    }
}

/// The SIGNIN MAC: HMAC-SHA256(key, challenge + ":" + terminal), where `challenge` is the
/// greeting's 32 lower-case hex digits as sent and `key` the terminal's 32 key bytes. Both the
/// engine's check and the clients' signing go through here, and docs/PROTOCOL.md's test vectors
/// are checked against it (`SignInMACTests`).
public enum MAC {
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// The mac a terminal sends in `SIGNIN mac=` (as lower-case hex: `Greeting.hex`).
    public static func signIn(key: [UInt8], challenge: String, terminal: String) -> [UInt8] {
        hmacSHA256(key: key, message: Greeting.signInMessage(challenge: challenge, terminal: terminal))
    }

    /// Whether `mac` is the right SIGNIN mac, compared in constant time (no leak of how many
    /// bytes matched).
    public static func isValidSignIn(_ mac: [UInt8], key: [UInt8], challenge: String, terminal: String) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Greeting.signInMessage(challenge: challenge, terminal: terminal),
                                               using: SymmetricKey(data: key))
    }
}

/// Client-side TLS from PEM files.
public enum MSLPClientTLS {
    /// - Parameters:
    ///   - caPath: CAs to trust for the server's certificate (nil: the system's trust store).
    ///   - certificatePath, keyPath: a client certificate, for servers that require one.
    public static func context(caPath: String?, certificatePath: String? = nil, keyPath: String? = nil) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caPath { configuration.trustRoots = .file(caPath) }
        if let certificatePath, let keyPath {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// The name to send (SNI) and verify: a host name, or nil for an IP address (then the
    /// certificate's IP address entries are checked against the peer's address).
    public static func serverName(_ host: String) -> String? {
        let isIP = host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
        return isIP ? nil : host
    }
}
