import Foundation

/// The settings given on a command line, taken out of it before the command's own arguments are
/// parsed: `--KEY VALUE`, `--KEY=VALUE` and, for a toggle, `--KEY` alone. `--config PATH` names
/// the config file. Everything else (the command's own arguments, and anything after `--`) is
/// left in `rest`, in order. Every command thus takes every setting the same way, declared once.
public struct SettingFlags: Sendable, Equatable {
    /// Setting values by key, as typed.
    public let given: [String: String]
    /// `--config PATH`, when given.
    public let configPath: String?
    /// The arguments that are not settings.
    public let rest: [String]

    public init(arguments: [String], definitions: [SettingDefinition]) throws {
        let byKey = Dictionary(definitions.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        var given: [String: String] = [:]
        var configPath: String?
        var rest: [String] = []
        var index = arguments.startIndex
        func take(_ key: String, inline: String?) throws -> String {
            if let inline { return inline }
            index += 1
            guard index < arguments.endIndex else { throw SettingError("--\(key) needs a value") }
            return arguments[index]
        }
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" {
                rest += arguments[index...]
                break
            }
            guard argument.hasPrefix("--") else {
                rest.append(argument)
                index += 1
                continue
            }
            let body = argument.dropFirst(2)
            let key = String(body.prefix { $0 != "=" })
            let inline = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
            if key == "config" {
                configPath = try take(key, inline: inline)
            } else if let definition = byKey[key] {
                switch definition.flag {
                case .value:
                    guard given[key] == nil else { throw SettingError("--\(key) is given twice") }
                    given[key] = try take(key, inline: inline)
                case .toggle:
                    guard given[key] == nil else { throw SettingError("--\(key) is given twice") }
                    given[key] = inline ?? "true"
                case .none:
                    throw SettingError("\(key) is never taken from the command line: set \(definition.environment) or \(key) in the config file")
                }
            } else {
                rest.append(argument)
            }
            index += 1
        }
        self.given = given
        self.configPath = configPath
        self.rest = rest
    }

    /// The settings of `scope` as help: a line `  --KEY <value>  ENVIRONMENT, default D` and the
    /// setting's meaning indented below it (short lines: help is wrapped at 80 columns).
    public static func help(_ definitions: [SettingDefinition], scope: SettingScope) -> String {
        let entries = definitions.filter { !$0.scope.isDisjoint(with: scope) }.map { definition -> (String, String, String) in
            let flag: String
            switch definition.flag {
            case .value(let name): flag = "--\(definition.key) <\(name)>"
            case .toggle: flag = "--\(definition.key)"
            case .none: flag = "(\(definition.key): no flag)"
            }
            let origin = definition.environment + (definition.defaultValue.map { ", default \($0)" } ?? "")
            return (flag, origin, definition.help)
        }
        let width = entries.map(\.0.count).max() ?? 0
        func line(_ flag: String, _ origin: String) -> String {
            "  " + flag.padding(toLength: width + 2, withPad: " ", startingAt: 0) + origin
        }
        var lines = [line("--config <path>", "MEDSETTLE_CONFIG"), "      the config file of `key = value` lines"]
        for (flag, origin, help) in entries {
            lines.append(line(flag, origin))
            lines.append("      " + help)
        }
        return lines.joined(separator: "\n")
    }
}
