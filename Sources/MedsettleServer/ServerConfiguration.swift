import NIOCore
import NIOSSL

/// The address, limits and TLS of the MSLP listener. Every limit has a safe default.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The longest request line, CR LF not counted (PROTOCOL.md: 16 384 by default).
    public var maxLineLength: Int
    /// Requests read but not yet answered, per connection, before reading pauses (≥ 128).
    public var maxInFlight: Int
    /// Open connections; beyond it a new connection is greeted with `* ERR BUSY` and closed.
    public var maxConnections: Int
    /// A connection with nothing in flight that sends nothing for this long is closed.
    public var idleTimeout: TimeAmount
    /// A request line must be complete this long after its first byte arrived, or the connection
    /// is closed: a terminal that sends a byte a minute cannot hold a connection.
    public var lineTimeout: TimeAmount
    /// Requests of all connections waiting for a database thread; past it a request answers
    /// `BUSY` at once instead of queueing.
    public var maxQueuedRequests: Int
    /// A connection not signed in this long after it was accepted is answered
    /// `* ERR NOT_SIGNED_IN` and closed.
    public var signInTimeout: TimeAmount
    /// Open connections from one client address (an IPv6 client: its /64); beyond it a new
    /// connection from there is refused like one past `maxConnections`. 0: no such limit.
    public var maxConnectionsPerAddress: Int
    /// Failed sign-ins from one client address within `signInFailureWindow`, on all connections
    /// together; at this many, every SIGNIN from there is refused for `signInCooldown`.
    /// 0: no such limit (each connection still closes after its 3rd failure).
    public var maxSignInFailures: Int
    public var signInFailureWindow: TimeAmount
    public var signInCooldown: TimeAmount
    /// TLS on the listener (the same MSLP bytes inside), or nil for plain TCP.
    public var tls: ReloadableTLS?
    /// A span per request (and per settlement round, through the store's tracer); nil: off.
    public var tracing: RequestTracing?

    public init(host: String = "127.0.0.1", port: Int = 7411, maxLineLength: Int = 16_384,
                maxInFlight: Int = 128, maxConnections: Int = 4_096, idleTimeout: TimeAmount = .seconds(300),
                lineTimeout: TimeAmount = .seconds(30), maxQueuedRequests: Int = 4_096,
                signInTimeout: TimeAmount = .seconds(10), maxConnectionsPerAddress: Int = 256,
                maxSignInFailures: Int = 20, signInFailureWindow: TimeAmount = .seconds(60),
                signInCooldown: TimeAmount = .seconds(60), tls: NIOSSLContext? = nil, tracing: RequestTracing? = nil) {
        self.host = host
        self.port = port
        self.maxLineLength = maxLineLength
        self.maxInFlight = maxInFlight
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.lineTimeout = lineTimeout
        self.maxQueuedRequests = maxQueuedRequests
        self.signInTimeout = signInTimeout
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxSignInFailures = maxSignInFailures
        self.signInFailureWindow = signInFailureWindow
        self.signInCooldown = signInCooldown
        self.tls = tls.map { ReloadableTLS(fixed: $0) }
        self.tracing = tracing
    }
}

/// TLS for the listener from PEM files.
public enum ServerTLS {
    /// - Parameter clientCAPath: when given, every client must present a certificate signed by
    ///   one of these CAs (mutual TLS); otherwise client certificates are not asked for.
    public static func context(certificatePath: String, keyPath: String, clientCAPath: String? = nil) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCAPath {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .file(clientCAPath)
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
