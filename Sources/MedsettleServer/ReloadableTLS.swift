import NIOSSL
import Synchronization

/// The listener's TLS context, which can be replaced while the engine runs (`serve` does on
/// SIGHUP, after the certificate files were renewed). A connection takes the context current when
/// it is accepted and keeps it: connections open before a reload are not touched, those accepted
/// after it present the new certificate.
public final class ReloadableTLS: Sendable {
    private let context: Mutex<NIOSSLContext>
    /// Reads the files again; nil for a context that cannot be reloaded.
    private let load: (@Sendable () throws -> NIOSSLContext)?

    /// A context read by `load`, and read again by it on every `reload`.
    public init(load: @escaping @Sendable () throws -> NIOSSLContext) throws {
        self.context = Mutex(try load())
        self.load = load
    }

    /// A context that stays as it is.
    public init(fixed context: NIOSSLContext) {
        self.context = Mutex(context)
        self.load = nil
    }

    /// The context for a connection accepted now.
    public var current: NIOSSLContext { context.withLock { $0 } }

    /// Reads the certificate and key again and makes them current. When that fails (a file
    /// missing, half written, a key that does not match), the error is thrown and the current
    /// context stays: a bad renewal must not leave the listener without TLS.
    public func reload() throws {
        guard let load else { return }
        let fresh = try load()
        context.withLock { $0 = fresh }
    }
}
