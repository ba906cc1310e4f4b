import ArgumentParser
import Foundation
import MedsettleAdmin
import MedsettleCore
import MedsettleConfig
import MedsettleStore
import PGClient

struct ReconCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recon",
        abstract: "Reconciliation (对账) detail.",
        subcommands: [Export.self]
    )

    struct Export: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle recon export"
        static let settingScope: SettingScope = .database
        static let configuration = CommandConfiguration(
            abstract: "Write one CSV row per settlement of an institution on a business date, with its split and state.",
            discussion: discussion("Cancelled and reversed settlements are listed with their state; RECON counts only those still settled.",
                                   settings: settingScope)
        )

        @Option(help: "Institution code, e.g. P001.")
        var institution: String

        @Option(help: "Business date YYYYMMDD (Asia/Shanghai).")
        var date: String

        @Option(help: "Write to this file instead of standard output.")
        var out: String?

        func run() throws {
            guard let day = BusinessDate(yyyymmdd: date) else { throw ValidationError("--date must be YYYYMMDD") }
            let connection = try PGConnection(conninfo: try usable { try requiredDatabaseURL(try resolvedSettings()) })
            let rows = try SettlementReports.detail(connection, institution: institution, date: day)
            let csv = SettlementReports.csv(header: SettlementReports.exportHeader, rows: rows)
            if let out {
                try Data(csv.utf8).write(to: URL(fileURLWithPath: out))
                print("wrote \(rows.count) settlements to \(out)")
            } else {
                print(csv, terminator: "")
            }
        }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports over the settlements.",
        subcommands: [Daily.self]
    )

    struct Daily: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle report daily"
        static let settingScope: SettingScope = .database
        static let configuration = CommandConfiguration(
            abstract: "Per-institution totals of a business date, net of cancels and reversals (amounts in fen).",
            discussion: discussion("", settings: settingScope)
        )

        /// How the report is printed.
        enum Format: String, ExpressibleByArgument, CaseIterable {
            /// A table for people.
            case text
            /// RFC 4180 with a header row, for spreadsheets.
            case csv
            /// `{"date": …, "institutions": [{…}]}`, amounts as integers of fen: the admin API's shape.
            case json
        }

        @Option(help: "Business date YYYYMMDD (Asia/Shanghai).")
        var date: String

        @Option(help: "text (a table), csv or json (the admin API's GET /api/v1/reports/daily).")
        var format: Format = .text

        func run() throws {
            guard let day = BusinessDate(yyyymmdd: date) else { throw ValidationError("--date must be YYYYMMDD") }
            let connection = try PGConnection(conninfo: try usable { try requiredDatabaseURL(try resolvedSettings()) })
            let rows = try SettlementReports.daily(connection, date: day)
            switch format {
            case .text:
                print(Table.render(header: SettlementReports.dailyHeader, rows: rows))
            case .csv:
                print(SettlementReports.csv(header: SettlementReports.dailyHeader, rows: rows), terminator: "")
            case .json:
                try JSONOutput.print(AdminDocuments.DailyReport(date: day, rows: rows), escapingSlashes: false)
            }
        }
    }
}
