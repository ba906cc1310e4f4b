import ArgumentParser
import Foundation
import Logging
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

struct LogOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. Requests are logged at debug.")
    var logLevel: String = "info"

    func bootstrap() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level \(logLevel)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
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
