import Foundation

/// Which commands read a setting. A command names the scopes it reads; a flag outside them is an
/// error for that command, an environment variable or config-file line outside them is not read.
public struct SettingScope: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Where the database is: every command that connects to it.
    public static let database = SettingScope(rawValue: 1 << 0)
    /// The server secret: every command that hashes PINs or seals terminal keys.
    public static let secret = SettingScope(rawValue: 1 << 1)
    /// The running engine: listener, TLS, pool, limits, metrics (serve, demo).
    public static let engine = SettingScope(rawValue: 1 << 2)
    /// The log level: every command that logs.
    public static let log = SettingScope(rawValue: 1 << 3)
    /// An MSLP client's server, terminal and TLS.
    public static let client = SettingScope(rawValue: 1 << 4)
    /// How schema migrations run (migrate).
    public static let migration = SettingScope(rawValue: 1 << 5)
}

/// One setting, declared once: its key is the flag name (`--KEY`) and the config-file key; it has
/// an environment variable, a default, and whether it is secret (masked when printed).
/// Values come from, in order of precedence: flags, the environment, the config file, defaults.
public struct SettingDefinition: Sendable {
    /// How the setting appears on a command line.
    public enum Flag: Sendable, Equatable {
        /// `--KEY VALUE` or `--KEY=VALUE`.
        case value(name: String)
        /// `--KEY` alone means true (a boolean).
        case toggle
        /// Never on a command line (a secret would show in `ps` and shell history).
        case none
    }

    public let key: String
    public let environment: String
    public let defaultValue: String?
    public let secret: Bool
    public let help: String
    public let scope: SettingScope
    public let flag: Flag

    public init(_ key: String, environment: String, default defaultValue: String? = nil, secret: Bool = false,
                scope: SettingScope = .engine, flag: Flag = .value(name: "value"), help: String) {
        self.key = key
        self.environment = environment
        self.defaultValue = defaultValue
        self.secret = secret
        self.help = help
        self.scope = scope
        self.flag = flag
    }
}

/// Where an effective value came from.
public enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    case flag
    case environment(String)
    case file(String)
    case defaultValue

    public var description: String {
        switch self {
        case .flag: return "flag"
        case .environment(let name): return "environment \(name)"
        case .file(let path): return "config file \(path)"
        case .defaultValue: return "default"
        }
    }

    /// Flag 3, environment 2, config file 1, default 0: the higher wins.
    public var rank: Int {
        switch self {
        case .flag: return 3
        case .environment: return 2
        case .file: return 1
        case .defaultValue: return 0
        }
    }
}

/// A setting whose value could not be used, named with where it came from.
public struct SettingError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The effective settings: a value (or none) and its source for every defined key.
public struct ResolvedSettings: Sendable {
    public let definitions: [SettingDefinition]
    private let values: [String: (String, SettingSource)]

    /// Layers `flags` over `environment` over the config file's `file` entries over defaults, for
    /// the settings of `scope` (all of them when nil). Unknown keys in the file are refused (a typo
    /// must not silently fall back to a default); a known key of another scope is left unread.
    /// A flag outside `scope` is refused: the command would not do what it says.
    public init(definitions: [SettingDefinition], scope: SettingScope? = nil, flags: [String: String],
                environment: [String: String], file: ConfigFile?, command: String = "this command") throws {
        let read = scope.map { scope in definitions.filter { !$0.scope.isDisjoint(with: scope) } } ?? definitions
        self.definitions = read
        let known = Set(definitions.map(\.key))
        if let file {
            for entry in file.entries where !known.contains(entry.key) {
                throw SettingError("\(file.path):\(entry.line): unknown setting '\(entry.key)'")
            }
        }
        let readable = Set(read.map(\.key))
        for key in flags.keys.sorted() where !readable.contains(key) {
            throw SettingError("\(command) does not take --\(key)")
        }
        var values: [String: (String, SettingSource)] = [:]
        for definition in read {
            if let value = flags[definition.key] {
                values[definition.key] = (value, .flag)
            } else if let value = environment[definition.environment], !value.isEmpty {
                values[definition.key] = (value, .environment(definition.environment))
            } else if let file, let value = file.value(definition.key) {
                values[definition.key] = (value, .file(file.path))
            } else if let value = definition.defaultValue {
                values[definition.key] = (value, .defaultValue)
            }
        }
        self.values = values
    }

    /// Of several settings that give the same thing (the server secret as a file or as hex), the
    /// one set at the strongest source — flag, then environment, then config file; between equal
    /// sources the earlier in `keys`. Nil when none is set.
    public func strongest(of keys: [String]) -> String? {
        var best: (key: String, rank: Int)?
        for key in keys {
            guard let source = source(key), source != .defaultValue else { continue }
            if best == nil || source.rank > best!.rank { best = (key, source.rank) }
        }
        return best?.key
    }

    public func string(_ key: String) -> String? { values[key]?.0 }

    public func source(_ key: String) -> SettingSource? { values[key]?.1 }

    /// The value as an integer within `range`, or an error naming the setting and its source.
    public func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        guard let text = string(key) else { throw SettingError("\(key) is required") }
        guard let value = Int(text), range.contains(value) else {
            throw SettingError("\(key) must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text)' (\(source(key)!))")
        }
        return value
    }

    public func bool(_ key: String) throws -> Bool {
        guard let text = string(key)?.lowercased() else { return false }
        switch text {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw SettingError("\(key) must be true or false, got '\(text)' (\(source(key)!))")
        }
    }

    /// Every setting as `key  value  (source)` lines, secrets masked: what `config print` shows.
    public func printed() -> String {
        let rows = definitions.map { definition -> (String, String, String) in
            guard let (value, source) = values[definition.key] else { return (definition.key, "-", "not set") }
            return (definition.key, definition.secret ? Self.mask(value) : value, "\(source)")
        }
        let keyWidth = rows.map(\.0.count).max() ?? 0
        let valueWidth = min(48, rows.map(\.1.count).max() ?? 0)
        return rows.map { key, value, source in
            key.padding(toLength: keyWidth, withPad: " ", startingAt: 0) + "  "
                + (value.count < valueWidth ? value.padding(toLength: valueWidth, withPad: " ", startingAt: 0) : value)
                + "  (" + source + ")"
        }.joined(separator: "\n")
    }

    /// A secret's shape without its content: a URL or conninfo keeps everything but its password.
    static func mask(_ value: String) -> String {
        if let scheme = value.range(of: "://"), let at = value[scheme.upperBound...].lastIndex(of: "@") {
            let credentials = value[scheme.upperBound..<at]
            guard let colon = credentials.firstIndex(of: ":") else { return value }
            return String(value[..<colon]) + ":***" + String(value[at...])
        }
        if value.contains("=") {
            return value.split(separator: " ").map { pair in
                pair.lowercased().hasPrefix("password=") ? "password=***" : String(pair)
            }.joined(separator: " ")
        }
        return "***"
    }
}

/// A config file: `key = value` lines, `#` comments, blank lines; a value may be in double quotes
/// (to keep spaces or a `#`). Keys are the flag names without `--`.
public struct ConfigFile: Sendable {
    public struct Entry: Sendable {
        public let key: String
        public let value: String
        public let line: Int
    }

    public let path: String
    public let entries: [Entry]

    public init(path: String, text: String) throws {
        self.path = path
        var entries: [Entry] = []
        var seen = Set<String>()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw SettingError("\(path):\(number): expected key = value")
            }
            let key = trimmed[..<equals].trimmingSpaces()
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw SettingError("\(path):\(number): bad key '\(key)'")
            }
            var value = trimmed[trimmed.index(after: equals)...].trimmingSpaces()
            if value.hasPrefix("\"") {
                guard value.count >= 2, value.hasSuffix("\"") else { throw SettingError("\(path):\(number): unterminated quote") }
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.firstIndex(of: "#") {
                value = String(value[..<hash]).trimmingSpaces()
            }
            guard seen.insert(key).inserted else { throw SettingError("\(path):\(number): '\(key)' is set twice") }
            entries.append(Entry(key: key, value: value, line: number))
        }
        self.entries = entries
    }

    public func value(_ key: String) -> String? { entries.first { $0.key == key }?.value }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
