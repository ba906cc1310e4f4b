import NIOCore

/// How the operators' HTTP side listens and what it serves, with every bound it keeps.
public struct AdminHTTPConfiguration: Sendable {
    /// What a listener serves.
    public enum Routes: Sendable {
        /// `/healthz`, `/readyz` and `/metrics` only: for a monitoring network (`--metrics`).
        case monitoring
        /// Those, the admin API (`/api/v1/…`) and the console (`/console/`): `--admin-listen`.
        case all
    }

    public var host: String
    public var port: Int
    public var routes: Routes
    /// Open connections; more wait in the listen backlog until one closes.
    public var maxConnections: Int
    /// The largest request body taken (413 beyond); the API's requests have none.
    public var maxBodyBytes: Int
    /// Rows in one page of a list; a client asks for fewer with `limit`.
    public var maxPageRows: Int
    /// A connection idle this long is closed.
    public var idleTimeout: TimeAmount

    public init(host: String, port: Int, routes: Routes = .all, maxConnections: Int = 32, maxBodyBytes: Int = 16 * 1024,
                maxPageRows: Int = 500, idleTimeout: TimeAmount = .seconds(60)) {
        self.host = host
        self.port = port
        self.routes = routes
        self.maxConnections = maxConnections
        self.maxBodyBytes = maxBodyBytes
        self.maxPageRows = maxPageRows
        self.idleTimeout = idleTimeout
    }
}
