import ArgumentParser
import Foundation
import Logging
import MedsettleConfig
import MedsettleServer
import MedsettleStore
import NIOCore

/// Every setting of `medsettle serve`: flag `--KEY`, environment variable, config-file key `KEY`.
/// docs/OPERATIONS.md documents the same table; `medsettle config print` shows the effective values.
enum ServeSettings {
    static let definitions: [SettingDefinition] = [
        .init("listen", environment: "MEDSETTLE_LISTEN", default: "127.0.0.1:7411", help: "MSLP listener, HOST:PORT"),
        .init("insecure", environment: "MEDSETTLE_INSECURE", default: "false",
              help: "allow plain TCP on a non-loopback address (PINs cross the network in the clear)"),
        .init("tls-cert", environment: "MEDSETTLE_TLS_CERT", help: "PEM certificate chain: serve MSLP over TLS"),
        .init("tls-key", environment: "MEDSETTLE_TLS_KEY", help: "PEM private key of --tls-cert"),
        .init("tls-client-ca", environment: "MEDSETTLE_TLS_CLIENT_CA", help: "PEM CAs: require client certificates signed by them"),
        .init("database-url", environment: "DATABASE_URL", secret: true, help: "PostgreSQL URL or libpq conninfo (may list several hosts)"),
        .init("pool-size", environment: "MEDSETTLE_POOL_SIZE", default: "8", help: "database connections"),
        .init("pool-wait", environment: "MEDSETTLE_POOL_WAIT", default: "2", help: "seconds a request waits for a free connection, then BUSY"),
        .init("settle-workers", environment: "MEDSETTLE_SETTLE_WORKERS", default: "2", help: "settlement threads (group commit), at most half the pool"),
        .init("settle-batch", environment: "MEDSETTLE_SETTLE_BATCH", default: "64", help: "most settlements per shared transaction"),
        .init("secret-file", environment: "MEDSETTLE_SECRET_FILE", help: "file holding the server secret as hex"),
        .init("secret", environment: "MEDSETTLE_SECRET", secret: true,
              help: "the server secret as hex, when there is no secret-file (no flag: never on a command line)"),
        .init("qr-lifetime", environment: "MEDSETTLE_QR_LIFETIME", default: String(QRTokens.defaultLifetime), help: "seconds a payment QR token stays valid"),
        .init("max-line", environment: "MEDSETTLE_MAX_LINE", default: "16384", help: "longest request line in bytes"),
        .init("max-in-flight", environment: "MEDSETTLE_MAX_IN_FLIGHT", default: "128", help: "requests in flight per connection before reading pauses"),
        .init("max-connections", environment: "MEDSETTLE_MAX_CONNECTIONS", default: "4096", help: "open connections; more are refused with * ERR BUSY"),
        .init("max-queued", environment: "MEDSETTLE_MAX_QUEUED", default: "4096", help: "requests waiting for a database thread; more answer BUSY at once"),
        .init("idle-timeout", environment: "MEDSETTLE_IDLE_TIMEOUT", default: "300", help: "seconds a connection may sit idle"),
        .init("line-timeout", environment: "MEDSETTLE_LINE_TIMEOUT", default: "30", help: "seconds a started request line has to be completed"),
        .init("shutdown-grace", environment: "MEDSETTLE_SHUTDOWN_GRACE", default: "30", help: "seconds to finish requests after SIGTERM"),
        .init("metrics", environment: "MEDSETTLE_METRICS", help: "Prometheus endpoint, HOST:PORT (GET /metrics)"),
        .init("log-level", environment: "MEDSETTLE_LOG_LEVEL", default: "info",
              help: "trace, debug, info (one line per request), notice, warning, error, critical"),
    ]
}

/// `serve`'s flags: every one optional, so that an absent flag falls through to the environment,
/// the config file and the default (`ServeSettings`).
struct ServeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Config file of `key = value` lines (default: $MEDSETTLE_CONFIG).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("MSLP listener (default 127.0.0.1:7411).", valueName: "host:port")) var listen: String?
    @Flag(help: "Allow plain TCP on a non-loopback address.") var insecure = false
    @Option(help: ArgumentHelp("PEM certificate chain: serve MSLP over TLS.", valueName: "path")) var tlsCert: String?
    @Option(help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "path")) var tlsKey: String?
    @Option(help: ArgumentHelp("PEM CA bundle: require client certificates it signed.", valueName: "path")) var tlsClientCa: String?
    @Option(name: .customLong("database-url"), help: ArgumentHelp("PostgreSQL URL or conninfo (default: $DATABASE_URL).", valueName: "url"))
    var databaseURL: String?
    @Option(help: "Database connections (default 8).") var poolSize: Int?
    @Option(help: "Seconds a request waits for a database connection before BUSY (default 2).") var poolWait: Int?
    @Option(help: "Settlement threads for group commit (default 2).") var settleWorkers: Int?
    @Option(help: "Most settlements per shared transaction (default 64).") var settleBatch: Int?
    @Option(help: ArgumentHelp("File holding the server secret as hex (else $MEDSETTLE_SECRET).", valueName: "path")) var secretFile: String?
    @Option(help: "Seconds a payment QR token stays valid (default 60).") var qrLifetime: Int?
    @Option(help: "Longest request line in bytes (default 16384).") var maxLine: Int?
    @Option(help: "Requests in flight per connection (default 128, at least 128).") var maxInFlight: Int?
    @Option(help: "Open connections before new ones are refused (default 4096).") var maxConnections: Int?
    @Option(help: "Requests waiting for a database thread before BUSY (default 4096).") var maxQueued: Int?
    @Option(help: "Seconds an idle connection is kept (default 300).") var idleTimeout: Int?
    @Option(help: "Seconds to complete a started request line (default 30).") var lineTimeout: Int?
    @Option(help: "Seconds to finish requests after SIGTERM (default 30).") var shutdownGrace: Int?
    @Option(help: ArgumentHelp("Prometheus endpoint (GET /metrics).", valueName: "host:port")) var metrics: String?
    @Option(help: "Log level (default info: one line per request).") var logLevel: String?

    /// The flags given, by setting key.
    var given: [String: String] {
        var flags: [String: String] = [:]
        func put(_ key: String, _ value: (any CustomStringConvertible)?) { if let value { flags[key] = "\(value)" } }
        put("listen", listen)
        if insecure { flags["insecure"] = "true" }
        put("tls-cert", tlsCert); put("tls-key", tlsKey); put("tls-client-ca", tlsClientCa)
        put("database-url", databaseURL); put("pool-size", poolSize); put("pool-wait", poolWait)
        put("settle-workers", settleWorkers); put("settle-batch", settleBatch); put("secret-file", secretFile)
        put("qr-lifetime", qrLifetime); put("max-line", maxLine); put("max-in-flight", maxInFlight)
        put("max-connections", maxConnections); put("max-queued", maxQueued); put("idle-timeout", idleTimeout)
        put("line-timeout", lineTimeout); put("shutdown-grace", shutdownGrace); put("metrics", metrics)
        put("log-level", logLevel)
        return flags
    }

    /// Flags over environment over the config file over defaults.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ResolvedSettings {
        precondition(ServeSettings.definitions.contains { $0.key == "secret" } && given["secret"] == nil, "no secret on the command line")
        var file: ConfigFile?
        if let path = config ?? environment["MEDSETTLE_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ValidationError("cannot read config file \(path): \(error.localizedDescription)")
            }
            file = try ConfigFile(path: path, text: text)
        }
        return try ResolvedSettings(definitions: ServeSettings.definitions, flags: given, environment: environment, file: file)
    }
}

/// The effective, checked configuration of a server process.
struct EngineConfiguration {
    let host: String
    let port: Int
    let insecure: Bool
    let tls: (cert: String, key: String, clientCA: String?)?
    let databaseURL: String
    let poolSize: Int
    let poolWait: Int
    let batching: SettleBatching
    let secretFile: String?
    let secretHex: String?
    let qrLifetime: Int64
    let maxLine: Int
    let maxInFlight: Int
    let maxConnections: Int
    let maxQueued: Int
    let idleTimeout: Int
    let lineTimeout: Int
    let shutdownGrace: Int
    let metrics: (host: String, port: Int)?
    let logLevel: Logger.Level

    init(_ settings: ResolvedSettings) throws {
        (host, port) = try parseHostPort(settings.string("listen")!)
        insecure = try settings.bool("insecure")
        switch (settings.string("tls-cert"), settings.string("tls-key")) {
        case (let cert?, let key?): tls = (cert, key, settings.string("tls-client-ca"))
        case (nil, nil):
            guard settings.string("tls-client-ca") == nil else { throw SettingError("tls-client-ca needs tls-cert and tls-key") }
            tls = nil
        default: throw SettingError("tls-cert and tls-key go together")
        }
        guard let url = settings.string("database-url") else {
            throw SettingError("no database: pass --database-url, set DATABASE_URL, or database-url in the config file")
        }
        databaseURL = url
        poolSize = try settings.integer("pool-size", in: 1...1000)
        poolWait = try settings.integer("pool-wait", in: 0...60)
        batching = SettleBatching(workers: try settings.integer("settle-workers", in: 1...64),
                                  maxBatch: try settings.integer("settle-batch", in: 1...1000))
        secretFile = settings.string("secret-file")
        secretHex = settings.string("secret")
        guard secretFile != nil || secretHex != nil else {
            throw SettingError("no server secret: set secret-file (flag, MEDSETTLE_SECRET_FILE or config file) or MEDSETTLE_SECRET")
        }
        qrLifetime = Int64(try settings.integer("qr-lifetime", in: 5...3600))
        maxLine = try settings.integer("max-line", in: 256...1_048_576)
        maxInFlight = try settings.integer("max-in-flight", in: 128...65_536)
        maxConnections = try settings.integer("max-connections", in: 1...1_000_000)
        maxQueued = try settings.integer("max-queued", in: 1...1_000_000)
        idleTimeout = try settings.integer("idle-timeout", in: 1...86_400)
        lineTimeout = try settings.integer("line-timeout", in: 1...3_600)
        shutdownGrace = try settings.integer("shutdown-grace", in: 0...3_600)
        metrics = try settings.string("metrics").map { try parseHostPort($0) }
        guard let level = Logger.Level(rawValue: settings.string("log-level")!) else {
            throw SettingError("log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        logLevel = level
        if tls == nil, !insecure, !Self.isLoopback(host) {
            throw SettingError("plain TCP on \(host) would carry PINs in the clear: give tls-cert and tls-key, or insecure = true")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    func secrets() throws -> ServerSecrets {
        if let secretFile { return try ServerSecrets(hex: try String(contentsOfFile: secretFile, encoding: .utf8)) }
        return try ServerSecrets(hex: secretHex!)
    }

    var server: ServerConfiguration {
        get throws {
            ServerConfiguration(
                host: host, port: port, maxLineLength: maxLine, maxInFlight: maxInFlight, maxConnections: maxConnections,
                idleTimeout: .seconds(Int64(idleTimeout)), lineTimeout: .seconds(Int64(lineTimeout)),
                maxQueuedRequests: maxQueued,
                tls: try tls.map { try ServerTLS.context(certificatePath: $0.cert, keyPath: $0.key, clientCAPath: $0.clientCA) })
        }
    }
}
