import ArgumentParser
import Foundation
import Logging
import MedsettleConfig
import MedsettleCore
import MedsettleServer
import MedsettleStore
import NIOCore

/// The effective, checked configuration of an engine process (`serve`, `demo`).
struct EngineConfiguration {
    /// What `serve` and `config print` read; `demo` reads the same.
    static let scope: SettingScope = [.database, .secret, .engine, .log]

    let settings: ResolvedSettings
    let host: String
    let port: Int
    let insecure: Bool
    let tls: (cert: String, key: String, clientCA: String?)?
    /// Nil for `demo` without one: it starts a private PostgreSQL.
    let databaseURL: String?
    let poolSize: Int
    let poolWait: Int
    /// `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout` of every
    /// pool connection, in milliseconds as PostgreSQL takes them.
    let databaseTimeouts: [(name: String, value: String)]
    /// The database may hold terminals whose keys are published (the demo's, the load tests').
    let demoDatabase: Bool
    let batching: SettleBatching
    let secret: ServerSecretSetting
    let qrLifetime: Int64
    /// Seconds between purges of expired used QR tokens; 0: never.
    let qrPurgeInterval: Int
    let qrPurgeBatch: Int
    let maxLine: Int
    let maxInFlight: Int
    let maxConnections: Int
    let maxQueued: Int
    let idleTimeout: Int
    let lineTimeout: Int
    let signInTimeout: Int
    let maxConnectionsPerAddress: Int
    let maxSignInFailures: Int
    let signInFailureWindow: Int
    let signInCooldown: Int
    let shutdownGrace: Int
    let metrics: (host: String, port: Int)?
    /// The operators' HTTP side; nil when off.
    let admin: AdminListenerSettings?
    let logLevel: Logger.Level
    /// Nil: standard error.
    let logFile: String?
    let logBuffer: Int
    /// Where spans are exported (OTLP/HTTP base URL); nil: no tracing.
    let otelEndpoint: String?

    /// - Parameter demo: a missing database and secret are allowed (the demo brings its own).
    init(_ settings: ResolvedSettings, demo: Bool = false) throws {
        self.settings = settings
        (host, port) = try parseHostPort(settings.string("listen")!)
        insecure = try settings.bool("insecure")
        switch (settings.string("tls-cert"), settings.string("tls-key")) {
        case (let cert?, let key?): tls = (cert, key, settings.string("tls-client-ca"))
        case (nil, nil):
            guard settings.string("tls-client-ca") == nil else { throw SettingError("tls-client-ca needs tls-cert and tls-key") }
            tls = nil
        default: throw SettingError("tls-cert and tls-key go together")
        }
        databaseURL = try demo ? settings.string("database-url") : requiredDatabaseURL(settings)
        poolSize = try settings.integer("pool-size", in: 1...1000)
        poolWait = try settings.integer("pool-wait", in: 0...60)
        databaseTimeouts = try [("statement_timeout", "db-statement-timeout"), ("lock_timeout", "db-lock-timeout"),
                                ("idle_in_transaction_session_timeout", "db-idle-in-transaction-timeout")].map { name, key in
            (name, String(try settings.integer(key, in: 0...3_600) * 1000))
        }
        demoDatabase = try demo || settings.bool("demo-database")
        batching = SettleBatching(workers: try settings.integer("settle-workers", in: 1...64),
                                  lightLoadWorkers: try settings.integer("settle-workers-light", in: 1...64),
                                  maxBatch: try settings.integer("settle-batch", in: 1...1000))
        secret = ServerSecretSetting(settings: settings)
        guard demo || secret.chosenKey != nil else {
            throw SettingError("no server secret: set secret-file (flag, MEDSETTLE_SECRET_FILE or config file) or MEDSETTLE_SECRET")
        }
        qrLifetime = Int64(try settings.integer("qr-lifetime", in: 5...3600))
        qrPurgeInterval = try settings.integer("qr-purge-interval", in: 0...86_400)
        qrPurgeBatch = try settings.integer("qr-purge-batch", in: 1...10_000)
        maxLine = try settings.integer("max-line", in: 256...1_048_576)
        maxInFlight = try settings.integer("max-in-flight", in: 128...65_536)
        maxConnections = try settings.integer("max-connections", in: 1...1_000_000)
        maxQueued = try settings.integer("max-queued", in: 1...1_000_000)
        idleTimeout = try settings.integer("idle-timeout", in: 1...86_400)
        lineTimeout = try settings.integer("line-timeout", in: 1...3_600)
        signInTimeout = try settings.integer("signin-timeout", in: 1...3_600)
        maxConnectionsPerAddress = try settings.integer("max-connections-per-address", in: 0...1_000_000)
        maxSignInFailures = try settings.integer("max-signin-failures", in: 0...1_000_000)
        signInFailureWindow = try settings.integer("signin-failure-window", in: 1...86_400)
        signInCooldown = try settings.integer("signin-cooldown", in: 1...86_400)
        shutdownGrace = try settings.integer("shutdown-grace", in: 0...3_600)
        metrics = try settings.string("metrics").map(Self.metricsAddress)
        admin = try AdminListenerSettings(settings, demo: demo)
        logLevel = try LogSetting.level(settings)
        logFile = settings.string("log-file")
        logBuffer = try settings.integer("log-buffer", in: 65_536...1_073_741_824)
        otelEndpoint = try EngineTracing.endpoint(settings)
        if tls == nil, !insecure, !Self.isLoopback(host) {
            throw SettingError("plain TCP on \(host) would carry PINs in the clear: give tls-cert and tls-key, or insecure = true")
        }
    }

    /// The metrics endpoint's `HOST:PORT`, or a bare `PORT` (or `:PORT`) on 127.0.0.1: the
    /// endpoint answers anyone who reaches it, so it stays on loopback unless a host is named.
    static func metricsAddress(_ text: String) throws -> (String, Int) {
        if let port = Int(text), (0...65535).contains(port) { return ("127.0.0.1", port) }
        return try parseHostPort(text)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The QR signing keys: `qr-secret` (current) and `qr-secret-previous` (still accepted, for
    /// rotation), each ≥ 32 bytes of hex; without them, the key derived from the server secret.
    func qrTokens(_ secrets: ServerSecrets) throws -> QRTokens {
        func key(_ name: String) throws -> [UInt8]? {
            guard let hex = settings.string(name) else { return nil }
            guard let bytes = decodeHex(hex.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count >= 32 else {
                throw SettingError("\(name) must be at least 64 hex digits (\(settings.source(name)!))")
            }
            return bytes
        }
        let current = try key("qr-secret") ?? secrets.qrKey
        let previous = try key("qr-secret-previous")
        return QRTokens(keys: [current] + (previous.map { [$0] } ?? []), lifetime: qrLifetime)
    }

    var server: ServerConfiguration {
        get throws {
            var server = ServerConfiguration(
                host: host, port: port, maxLineLength: maxLine, maxInFlight: maxInFlight, maxConnections: maxConnections,
                idleTimeout: .seconds(Int64(idleTimeout)), lineTimeout: .seconds(Int64(lineTimeout)),
                maxQueuedRequests: maxQueued, signInTimeout: .seconds(Int64(signInTimeout)),
                maxConnectionsPerAddress: maxConnectionsPerAddress, maxSignInFailures: maxSignInFailures,
                signInFailureWindow: .seconds(Int64(signInFailureWindow)), signInCooldown: .seconds(Int64(signInCooldown)))
            // The files are read again on every reload (SIGHUP), so that renewed certificates take effect.
            server.tls = try tls.map { files in
                try ReloadableTLS { try ServerTLS.context(certificatePath: files.cert, keyPath: files.key, clientCAPath: files.clientCA) }
            }
            return server
        }
    }
}
