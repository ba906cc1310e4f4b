import ArgumentParser
import Foundation
import Logging
import MedsettleCore
import MedsettleServer
import MedsettleStore

/// Where the database is.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"),
            help: ArgumentHelp("PostgreSQL URL or libpq conninfo (default: $DATABASE_URL).", valueName: "url"))
    var databaseURL: String?

    @Option(help: "Database connections (and database threads) in the pool.")
    var poolSize: Int = 8

    func resolvedURL() throws -> String {
        if let databaseURL { return databaseURL }
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty { return env }
        throw ValidationError("no database: pass --database-url or set DATABASE_URL")
    }
}

/// The server secret from which PIN-hash, terminal-key sealing and QR keys are derived.
struct SecretOptions: ParsableArguments {
    @Option(help: ArgumentHelp("File holding the server secret as hex (default: $MEDSETTLE_SECRET, else $MEDSETTLE_SECRET_FILE).",
                               valueName: "path"))
    var secretFile: String?

    /// The secret from the flag, the environment, or (when `fallbackFile` is given) a file that
    /// is created with a fresh secret on first use.
    func load(fallbackFile: String? = nil) throws -> ServerSecrets {
        try Self.load(secretFile: secretFile, fallbackFile: fallbackFile)
    }

    static func load(secretFile: String?, fallbackFile: String?) throws -> ServerSecrets {
        let env = ProcessInfo.processInfo.environment
        if let secretFile { return try ServerSecrets(hex: try String(contentsOfFile: secretFile, encoding: .utf8)) }
        if let hex = env["MEDSETTLE_SECRET"], !hex.isEmpty { return try ServerSecrets(hex: hex) }
        if let path = env["MEDSETTLE_SECRET_FILE"], !path.isEmpty {
            return try ServerSecrets(hex: try String(contentsOfFile: path, encoding: .utf8))
        }
        guard let fallbackFile else {
            throw ValidationError("no server secret: pass --secret-file, or set MEDSETTLE_SECRET or MEDSETTLE_SECRET_FILE")
        }
        if !FileManager.default.fileExists(atPath: fallbackFile) {
            _ = FileManager.default.createFile(atPath: fallbackFile, contents: Data((ServerSecrets.generateHex() + "\n").utf8),
                                           attributes: [.posixPermissions: 0o600])
        }
        return try ServerSecrets(hex: try String(contentsOfFile: fallbackFile, encoding: .utf8))
    }
}

/// The e-card QR token settings. The signing key defaults to one derived from the server secret.
struct QROptions: ParsableArguments {
    @Option(help: "Seconds a payment QR token stays valid.")
    var qrLifetime: Int64 = QRTokens.defaultLifetime

    func validate() throws {
        guard (5...3600).contains(qrLifetime) else { throw ValidationError("--qr-lifetime must be 5-3600 seconds") }
    }

    /// Keys from `MEDSETTLE_QR_SECRET` (current) and `MEDSETTLE_QR_SECRET_PREVIOUS` (still accepted,
    /// for rotation), each ≥ 32 bytes of hex; without them, the key derived from the server secret.
    func tokens(_ secrets: ServerSecrets) throws -> QRTokens {
        try Self.tokens(secrets, lifetime: qrLifetime)
    }

    static func tokens(_ secrets: ServerSecrets, lifetime: Int64) throws -> QRTokens {
        let env = ProcessInfo.processInfo.environment
        func key(_ name: String) throws -> [UInt8]? {
            guard let hex = env[name], !hex.isEmpty else { return nil }
            guard let bytes = decodeHex(hex.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count >= 32 else {
                throw ValidationError("\(name) must be at least 64 hex digits")
            }
            return bytes
        }
        let current = try key("MEDSETTLE_QR_SECRET") ?? secrets.qrKey
        let previous = try key("MEDSETTLE_QR_SECRET_PREVIOUS")
        return QRTokens(keys: [current] + (previous.map { [$0] } ?? []), lifetime: lifetime)
    }
}

struct LogOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info (one line per request), notice, warning, error, critical.")
    var logLevel: String = "info"

    func bootstrap() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level \(logLevel)")
        }
        Self.bootstrap(level)
    }

    /// One `time level label message key=value …` line per event on standard error.
    static func bootstrap(_ level: Logger.Level) {
        LoggingSystem.bootstrap { label in KeyValueLogHandler(label: label, level: level) }
    }
}

/// `HOST:PORT`, with `[v6]:PORT` for IPv6.
func parseHostPort(_ text: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
        throw ValidationError("expected HOST:PORT, got \(text)")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "127.0.0.1" : host, port)
}
