import ArgumentParser
import Foundation
import Logging
import MedsettleConfig
import MedsettleServer
import MedsettleStore

/// The settings given on this process's command line, taken out before ArgumentParser sees the
/// rest (`Medsettle.main`).
enum CommandLineSettings {
    static let parsed: Result<SettingFlags, SettingError> = {
        do {
            return .success(try SettingFlags(arguments: Array(CommandLine.arguments.dropFirst()), definitions: MedsettleSettings.all))
        } catch let error as SettingError {
            return .failure(error)
        } catch {
            return .failure(SettingError("\(error)"))
        }
    }()

    static var flags: SettingFlags {
        guard case .success(let flags) = parsed else { preconditionFailure("Medsettle.main checks the setting flags first") }
        return flags
    }
}

/// A command that reads settings: it names the scopes it reads, and gets them resolved the one
/// way every command does — flag > environment > config file > default. Adding an operator
/// command is conforming to this and naming its scopes.
protocol SettingsCommand {
    static var configuration: CommandConfiguration { get }
    static var settingScope: SettingScope { get }
    /// How errors name the command, e.g. `medsettle report daily`.
    static var commandPath: String { get }
}

extension SettingsCommand {
    static var commandPath: String { "medsettle " + (configuration.commandName ?? "") }

    /// This command's settings, from the command line, the environment and the config file
    /// (`--config PATH`, else `MEDSETTLE_CONFIG`).
    func resolvedSettings(environment: [String: String] = ProcessInfo.processInfo.environment,
                  flags: SettingFlags = CommandLineSettings.flags) throws -> ResolvedSettings {
        var file: ConfigFile?
        if let path = flags.configPath ?? environment["MEDSETTLE_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ValidationError("cannot read config file \(path): \(error.localizedDescription)")
            }
            do { file = try ConfigFile(path: path, text: text) } catch let error as SettingError {
                throw ValidationError(error.description)
            }
        }
        do {
            return try ResolvedSettings(definitions: MedsettleSettings.all, scope: Self.settingScope, flags: flags.given,
                                        environment: environment, file: file,
                                        command: Self.commandPath)
        } catch let error as SettingError {
            throw ValidationError(error.description)
        }
    }
}

/// A command's discussion followed by the settings it reads, as `--help` shows them.
func discussion(_ text: String, settings scope: SettingScope) -> String {
    (text.isEmpty ? "" : text + "\n\n")
        + "SETTINGS (flag, else environment variable, else `key = value` in --config, else default):\n"
        + SettingFlags.help(MedsettleSettings.all, scope: scope)
}

/// Turns a setting's error into a usage error (exit 64, with the message and no stack).
func usable<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as SettingError { throw ValidationError(error.description) }
}

/// Where the database is.
func requiredDatabaseURL(_ settings: ResolvedSettings) throws -> String {
    guard let url = settings.string("database-url") else {
        throw SettingError("no database: pass --database-url, set DATABASE_URL, or database-url in the config file")
    }
    return url
}

/// The server secret, from the one setting `MedsettleSettings.serverSecretKey` chooses.
struct ServerSecretSetting {
    let settings: ResolvedSettings

    /// `secret-file` or `secret`, whichever wins; nil when neither is set.
    var chosenKey: String? { MedsettleSettings.serverSecretKey(settings) }

    /// What `config print` shows: which setting gives the secret, and from where.
    var described: String {
        guard let key = chosenKey, let source = settings.source(key) else { return "not set" }
        return key == "secret-file" ? "secret-file \(settings.string(key)!) (\(source))" : "secret (\(source))"
    }

    /// A warning when both forms are set and hold different secrets: the stronger one is used,
    /// and the other one was probably meant for another command.
    var conflict: String? {
        guard let path = settings.string("secret-file"), let hex = settings.string("secret") else { return nil }
        let fromFile = (try? String(contentsOfFile: path, encoding: .utf8)).map(Self.normalized)
        guard fromFile != Self.normalized(hex) else { return nil }
        let used = chosenKey == "secret-file" ? "secret-file" : "secret"
        return "secret-file (\(settings.source("secret-file")!)) and secret (\(settings.source("secret")!)) "
            + (fromFile == nil ? "are both set and \(path) cannot be read" : "hold different secrets")
            + "; \(used) is used"
    }

    private static func normalized(_ hex: String) -> String { hex.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }

    /// The secret; without one, `fallbackFile` (created with a fresh secret on first use) when given.
    func load(fallbackFile: String? = nil) throws -> ServerSecrets {
        switch chosenKey {
        case "secret-file"?:
            let path = settings.string("secret-file")!
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ValidationError("cannot read the server secret file \(path): \(error.localizedDescription)")
            }
            return try ServerSecrets(hex: text)
        case "secret"?:
            return try ServerSecrets(hex: settings.string("secret")!)
        default:
            guard let fallbackFile else {
                throw ValidationError("no server secret: pass --secret-file, or set MEDSETTLE_SECRET_FILE or MEDSETTLE_SECRET")
            }
            if !FileManager.default.fileExists(atPath: fallbackFile) {
                _ = FileManager.default.createFile(atPath: fallbackFile, contents: Data((ServerSecrets.generateHex() + "\n").utf8),
                                                   attributes: [.posixPermissions: 0o600])
            }
            return try ServerSecrets(hex: try String(contentsOfFile: fallbackFile, encoding: .utf8))
        }
    }

    /// Loads the secret, first warning on standard error about a conflict.
    func loadWarning(fallbackFile: String? = nil) throws -> ServerSecrets {
        if let conflict { FileHandle.standardError.write(Data("warning: \(conflict)\n".utf8)) }
        return try load(fallbackFile: fallbackFile)
    }
}

/// The log level (the log itself: `EngineLog`).
enum LogSetting {
    static func level(_ settings: ResolvedSettings) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: settings.string("log-level")!) else {
            throw SettingError("log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }
}

/// `HOST:PORT`, with `[v6]:PORT` for IPv6.
func parseHostPort(_ text: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
        throw SettingError("expected HOST:PORT, got \(text)")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "127.0.0.1" : host, port)
}
