import ArgumentParser
import MedsettleConfig

/// `medsettle --generate-completion-script bash|zsh|fish`: swift-argument-parser's scripts, with
/// the settings' flags added to every command that reads them.
///
/// ArgumentParser never sees the settings (`CommandLineSettings` takes them off the command line
/// before it parses), so its scripts offer only each command's own arguments. Each shell's script
/// has one place per command where its flags are listed — bash a function `_medsettle_PATH` with
/// `non_repeating_flags=(…)` and `non_repeating_options=(…)`, zsh a function `_medsettle_PATH`
/// with `arg_specs=(…)`, fish a `__medsettle_parse_subcommand` line under the command's `case`
/// and `complete` lines — and the settings are added there. A script whose shape is not the one
/// expected is left as ArgumentParser made it (the test suite checks the settings are in).
enum CompletionScripts {
    /// Handles the flag if it is the command line's first argument; false otherwise.
    static func printIfAsked(_ arguments: [String]) -> Bool {
        let flag = "--generate-completion-script"
        let named: String?
        switch arguments.count {
        case 2 where arguments[0] == flag: named = arguments[1]
        case 1 where arguments[0].hasPrefix(flag + "="): named = String(arguments[0].dropFirst(flag.count + 1))
        default: named = nil
        }
        guard let shell = named.flatMap(CompletionShell.init(rawValue:)) else { return false }
        print(script(for: shell))
        return true
    }

    static func script(for shell: CompletionShell) -> String {
        var script = Medsettle.completionScript(for: shell)
        for command in settingsCommands(Medsettle.self, path: []) {
            let settings = [SettingCompletion.config] + MedsettleSettings.all.compactMap { definition in
                definition.scope.isDisjoint(with: command.scope) ? nil : SettingCompletion(definition)
            }
            switch shell {
            case .bash: addBash(settings, to: &script, path: command.path)
            case .zsh: addZsh(settings, to: &script, path: command.path)
            case .fish: addFish(settings, to: &script, path: command.path)
            default: break
            }
        }
        return script
    }

    /// Every command that reads settings, with its path below `medsettle`.
    private static func settingsCommands(_ command: any ParsableCommand.Type, path: [String]) -> [(path: [String], scope: SettingScope)] {
        var found: [(path: [String], scope: SettingScope)] = []
        if let reader = command as? any SettingsCommand.Type { found.append((path, reader.settingScope)) }
        for subcommand in command.configuration.subcommands {
            found += settingsCommands(subcommand, path: path + [name(of: subcommand)])
        }
        return found
    }

    /// A command's name as ArgumentParser derives it when the configuration names none:
    /// `RotateKey` is `rotate-key`.
    private static func name(of command: any ParsableCommand.Type) -> String {
        if let name = command.configuration.commandName { return name }
        var name = ""
        for character in String(describing: command) {
            if character.isUppercase, !name.isEmpty { name += "-" }
            name += character.lowercased()
        }
        return name
    }

    /// Inserts `addition` right after the first `anchor` that follows `start`; nothing when either
    /// is missing.
    private static func insert(_ addition: String, after anchor: String, following start: String, in script: inout String) {
        guard let header = script.range(of: start), let place = script.range(of: anchor, range: header.upperBound..<script.endIndex) else {
            return
        }
        script.insert(contentsOf: addition, at: place.upperBound)
    }

    private static func addBash(_ settings: [SettingCompletion], to script: inout String, path: [String]) {
        let function = "\n" + (["_medsettle"] + path).joined(separator: "_") + "() {\n"
        let flags = settings.filter { !$0.takesValue }.map { "--\($0.key) " }.joined()
        let options = settings.filter(\.takesValue).map { "--\($0.key) " }.joined()
        insert(flags, after: "non_repeating_flags=(", following: function, in: &script)
        insert(options, after: "non_repeating_options=(", following: function, in: &script)
    }

    private static func addZsh(_ settings: [SettingCompletion], to script: inout String, path: [String]) {
        let function = "\n" + (["_medsettle"] + path).joined(separator: "_") + "() {\n"
        let specs = settings.map { setting -> String in
            let help = setting.help.filter { !"[]:'\\`".contains($0) }
            guard setting.takesValue else { return "\n        '--\(setting.key)[\(help)]'" }
            return "\n        '--\(setting.key)[\(help)]:\(setting.valueName.filter { $0 != ":" }):\(setting.isPath ? "_files" : "")'"
        }.joined()
        insert(specs, after: "local -ar arg_specs=(", following: function, in: &script)
    }

    private static func addFish(_ settings: [SettingCompletion], to script: inout String, path: [String]) {
        // The parser's line for the command: under `case 'A'`, then `case 'B'` … in order.
        var cursor = script.startIndex
        for name in path {
            guard let found = script.range(of: "case '\(name)'\n", range: cursor..<script.endIndex) else { return }
            cursor = found.upperBound
        }
        guard !path.isEmpty, let parse = script.range(of: "__medsettle_parse_subcommand ", range: cursor..<script.endIndex),
              let end = script.range(of: "\n", range: parse.upperBound..<script.endIndex) else { return }
        script.insert(contentsOf: settings.map { " '\($0.key)\($0.takesValue ? "=" : "")'" }.joined(), at: end.lowerBound)
        let command = (["medsettle"] + path).joined(separator: " ")
        let lines = settings.map { setting in
            let help = setting.help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            return "complete -c 'medsettle' -n '__medsettle_should_offer_completions_for_flags_or_options \"\(command)\" \(setting.key)'"
                + " -l '\(setting.key)' -d '\(help)'" + (setting.takesValue ? (setting.isPath ? " -rF" : " -rf") : "")
        }
        script += lines.joined(separator: "\n") + "\n"
    }
}

/// A setting as a completion offers it.
private struct SettingCompletion {
    let key: String
    let help: String
    let takesValue: Bool
    let valueName: String

    var isPath: Bool { valueName == "path" }

    static let config = SettingCompletion(key: "config", help: "the config file of `key = value` lines", takesValue: true, valueName: "path")

    init(key: String, help: String, takesValue: Bool, valueName: String) {
        self.key = key
        self.help = help
        self.takesValue = takesValue
        self.valueName = valueName
    }

    /// Nil for a setting never taken from the command line (a secret).
    init?(_ definition: SettingDefinition) {
        switch definition.flag {
        case .value(let name): self.init(key: definition.key, help: definition.help, takesValue: true, valueName: name)
        case .toggle: self.init(key: definition.key, help: definition.help, takesValue: false, valueName: "")
        case .none: return nil
        }
    }
}
