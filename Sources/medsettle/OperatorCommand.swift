import ArgumentParser
import Foundation
import MedsettleConfig
import MedsettleStore
import PGClient

/// The operators of the HTTP side: `add` makes a bearer token and shows it once (only its hash is
/// kept), `list` shows who exists, `revoke` ends a token at once. Adding and revoking are written
/// to the audit log, as the local user who ran the command.
struct OperatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Add, list and revoke the operators of the admin API and console.",
        subcommands: [Add.self, List.self, Revoke.self]
    )

    static func connection<Command: SettingsCommand>(_ command: Command) throws -> PGConnection {
        try PGConnection(conninfo: try usable { try requiredDatabaseURL(try command.resolvedSettings()) })
    }

    /// Who ran the command, for the audit log: the local user and host.
    static var actor: AuditActor {
        let environment = ProcessInfo.processInfo.environment
        let user = environment["SUDO_USER"].map { "\($0) (sudo)" } ?? environment["USER"] ?? "uid \(getuid())"
        return AuditActor(operatorName: nil, channel: .cli, client: "user \(user) on \(ProcessInfo.processInfo.hostName)")
    }

    struct Add: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle operator add"
        static let settingScope: SettingScope = .database
        static let configuration = CommandConfiguration(
            abstract: "Add an operator and print its bearer token (shown this once; only its hash is kept).",
            discussion: discussion("Prints operator=NAME token=TOKEN. A name once used (even revoked) is never given out again.",
                                   settings: settingScope))

        @Argument(help: "The operator's name: 1-32 of a-z 0-9 . _ -, starting with a letter.")
        var name: String

        func run() throws {
            let issued = try Operators.add(try OperatorCommand.connection(self), name: name, by: OperatorCommand.actor)
            print("operator=\(issued.name) token=\(issued.token)")
        }
    }

    struct List: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle operator list"
        static let settingScope: SettingScope = .database
        static let configuration = CommandConfiguration(
            abstract: "List the operators: name, when added, when revoked (never a token).",
            discussion: discussion("One line per operator: operator=NAME created=… revoked=…|-.", settings: settingScope))

        @Flag(help: "Print JSON instead of lines.")
        var json = false

        func run() throws {
            let operators = try Operators.list(try OperatorCommand.connection(self))
            if json {
                try JSONOutput.print(operators)
                return
            }
            for entry in operators {
                print("operator=\(entry.name) created='\(entry.created)' revoked=\(entry.revoked.map { "'\($0)'" } ?? "-")")
            }
        }
    }

    struct Revoke: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle operator revoke"
        static let settingScope: SettingScope = .database
        static let configuration = CommandConfiguration(
            abstract: "Revoke an operator's token: refused from the next request on.",
            discussion: discussion("Prints operator=NAME revoked=1; revoking twice is no error.", settings: settingScope))

        @Argument(help: "The operator's name.")
        var name: String

        func run() throws {
            try Operators.revoke(try OperatorCommand.connection(self), name: name, by: OperatorCommand.actor)
            print("operator=\(name) revoked=1")
        }
    }
}
