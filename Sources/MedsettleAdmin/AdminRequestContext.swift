import Hummingbird
import NIOCore

/// A request's context: Hummingbird's, the client's address (the audit log's "from where"), and
/// the body limit.
public struct AdminRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The audit log's client: `ADDRESS:PORT` (`[v6]:PORT`).
    var client: String {
        guard let address = remoteAddress, let ip = address.ipAddress else { return "unknown" }
        let port = address.port.map { ":\($0)" } ?? ""
        return ip.contains(":") ? "[\(ip)]\(port)" : ip + port
    }
}
