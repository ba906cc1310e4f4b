import ArgumentParser
import Foundation
import MedsettleConfig
import MedsettleCore
import MedsettleStore
import PGClient

/// ADMIN.md "Terminals": add (with a key made here and shown once), disable, enable, rotate-key, list.
struct TerminalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "terminal",
        abstract: "Add terminals, give them new keys, disable, enable and list them.",
        subcommands: [Add.self, Disable.self, Enable.self, RotateKey.self, List.self]
    )

    /// The database and server secret as `serve` reaches them.
    static func administration<Command: SettingsCommand>(_ command: Command) throws -> TerminalAdministration {
        let settings = try command.resolvedSettings()
        let url = try usable { try requiredDatabaseURL(settings) }
        let secrets = try ServerSecretSetting(settings: settings).loadWarning()
        return TerminalAdministration(connection: try PGConnection(conninfo: url), secrets: secrets)
    }

    static func keyLine(_ issued: IssuedTerminalKey) -> String {
        "terminal=\(issued.terminal) key=\(encodeHex(issued.key))"
    }

    struct Add: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle terminal add"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            abstract: "Add an enabled terminal to an institution and print its key (shown this once).",
            discussion: discussion("Prints terminal=ID key=HEX. Without --id the terminal is the lowest unused CODE-NN.",
                                   settings: settingScope))

        @Option(help: "The institution's code, e.g. P001.")
        var institution: String

        @Option(help: "The terminal's id (1-32 of A-Z a-z 0-9 . _ -); by default the lowest unused CODE-NN.")
        var id: String?

        func run() throws {
            print(TerminalCommand.keyLine(try TerminalCommand.administration(self).add(institution: institution, id: id)))
        }
    }

    struct Disable: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle terminal disable"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            abstract: "Disable a terminal: it can no longer sign in.",
            discussion: discussion("Prints terminal=ID enabled=0; disabling a disabled terminal is no error.", settings: settingScope))

        @Argument(help: "The terminal's id.")
        var terminal: String

        func run() throws {
            try TerminalCommand.administration(self).setEnabled(terminal, false)
            print("terminal=\(terminal) enabled=0")
        }
    }

    struct Enable: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle terminal enable"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            abstract: "Enable a terminal again.",
            discussion: discussion("Prints terminal=ID enabled=1; enabling an enabled terminal is no error.", settings: settingScope))

        @Argument(help: "The terminal's id.")
        var terminal: String

        func run() throws {
            try TerminalCommand.administration(self).setEnabled(terminal, true)
            print("terminal=\(terminal) enabled=1")
        }
    }

    struct RotateKey: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle terminal rotate-key"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Give a terminal a new key (shown this once); the old one stops signing in at once.",
            discussion: discussion("Prints terminal=ID key=HEX.", settings: settingScope))

        @Argument(help: "The terminal's id.")
        var terminal: String

        func run() throws {
            print(TerminalCommand.keyLine(try TerminalCommand.administration(self).rotateKey(terminal)))
        }
    }

    struct List: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle terminal list"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            abstract: "List the terminals: id, institution, kind, enabled (never a key).",
            discussion: discussion("One line per terminal: terminal=ID institution=CODE kind=KIND enabled=0|1.", settings: settingScope))

        @Flag(help: "Print JSON instead of lines.")
        var json = false

        func run() throws {
            let terminals = try TerminalCommand.administration(self).list()
            if json {
                let entries = terminals.map { ["terminal": $0.id, "institution": $0.institution, "kind": $0.kind.rawValue,
                                               "enabled": $0.enabled ? "1" : "0"] }
                try JSONOutput.print(entries)
                return
            }
            for terminal in terminals {
                print("terminal=\(terminal.id) institution=\(terminal.institution) kind=\(terminal.kind.rawValue) enabled=\(terminal.enabled ? 1 : 0)")
            }
        }
    }
}
