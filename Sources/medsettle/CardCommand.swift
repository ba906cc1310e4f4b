import ArgumentParser
import Foundation
import MedsettleConfig
import MedsettleStore
import PGClient

struct CardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card",
        abstract: "Look at cards.",
        subcommands: [History.self]
    )

    struct History: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle card history"
        static let settingScope: SettingScope = .database
        static let configuration = CommandConfiguration(
            abstract: "Print the event log of a card's holder: every lifecycle event, PIN failure, lock and QR use.",
            discussion: discussion("Events of all the holder's cards are shown, so a replacement's story stays whole. No PIN is ever logged.",
                                   settings: settingScope)
        )

        @Argument(help: "A card number, e.g. H00000017.")
        var card: String

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let connection = try PGConnection(conninfo: try usable { try requiredDatabaseURL(try resolvedSettings()) })
            guard let events = try CardHistory.load(connection, cardNo: card) else {
                throw ValidationError("no card \(card)")
            }
            if json {
                try JSONOutput.print(events, escapingSlashes: false)
                return
            }
            let header = ["time (Asia/Shanghai)", "card", "event", "channel", "terminal", "agent", "detail"]
            let rows = events.map { [$0.time, $0.card ?? "", $0.event, $0.channel, $0.terminal, $0.agent ?? "", $0.detail ?? ""] }
            print(Table.render(header: header, rows: rows))
        }
    }
}
