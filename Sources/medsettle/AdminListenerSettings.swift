import MedsettleAdmin
import MedsettleConfig

/// The operators' HTTP side as configured (`admin-*` settings): where it listens and its bounds.
/// Nil when off: `serve` without `admin-listen`, or `admin-listen = off`.
struct AdminListenerSettings {
    let http: AdminHTTPConfiguration
    /// The admin API's database, when it is not the engine's.
    let databaseURL: String?

    /// The demo's address when none is given.
    static let demoAddress = "127.0.0.1:7412"

    init?(_ settings: ResolvedSettings, demo: Bool) throws {
        guard let address = settings.string("admin-listen") ?? (demo ? Self.demoAddress : nil), address != "off" else { return nil }
        let (host, port) = try parseHostPort(address)
        http = AdminHTTPConfiguration(
            host: host, port: port, routes: .all,
            maxConnections: try settings.integer("admin-max-connections", in: 1...10_000),
            maxBodyBytes: try settings.integer("admin-max-body", in: 1_024...16_777_216),
            maxPageRows: try settings.integer("admin-page-rows", in: 10...10_000))
        databaseURL = settings.string("admin-database-url")
    }

    /// `--metrics HOST:PORT`: the monitoring routes alone (no API, no console), as before the admin side.
    static func metricsOnly(host: String, port: Int) -> AdminHTTPConfiguration {
        AdminHTTPConfiguration(host: host, port: port, routes: .monitoring, maxConnections: 16)
    }
}
