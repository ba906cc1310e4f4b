import MedsettleCore
import MedsettleStore

/// A report cell as JSON: amounts and counts as numbers, everything else as text.
public enum ReportCell: Encodable, Sendable, Equatable {
    case text(String)
    case number(Int64)

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .number(let number): try container.encode(number)
        }
    }
}

/// The JSON shapes of the admin API (docs/admin-api.yaml) and of `report daily --format json`.
public enum AdminDocuments {
    /// The columns of the reports that hold text; every other column is an integer (fen or a count).
    static let textColumns: Set<String> = ["institution", "name", "settlement", "business_date", "terminal", "trace", "card",
                                           "visit", "state", "settled_at", "undone_at"]

    /// A report row as an object keyed by its header's names.
    public static func object(header: [String], cells: [String]) -> [String: ReportCell] {
        Dictionary(uniqueKeysWithValues: zip(header, cells).map { name, cell in
            (name, textColumns.contains(name) ? .text(cell) : Int64(cell).map(ReportCell.number) ?? .text(cell))
        })
    }

    /// `report daily` as JSON: the date and one object per institution.
    public struct DailyReport: Encodable, Sendable {
        public let date: String
        public let institutions: [[String: ReportCell]]

        public init(date: BusinessDate, rows: [[String]]) {
            self.date = date.yyyymmdd
            institutions = rows.map { AdminDocuments.object(header: SettlementReports.dailyHeader, cells: $0) }
        }
    }

    /// The console's figures of a day.
    struct Figures: Encodable, Sendable {
        struct Totals: Encodable, Sendable {
            let count: Int64
            let total: Int64
            let fund: Int64
            let account: Int64
            let aid: Int64
            let cash: Int64
        }

        let date: String
        /// Settlements made per minute (`HH:MM`) and institution kind.
        let perMinute: [MinuteCount]
        /// Money of the settlements still standing, in fen.
        let totals: Totals
        /// This engine's refusals of the day by error code (not kept in the database).
        let refusals: [String: Int64]

        init(date: BusinessDate, perMinute: [MinuteCount], daily: [[String]], refusals: [String: Int64]) {
            self.date = date.yyyymmdd
            self.perMinute = perMinute
            let objects = daily.map { AdminDocuments.object(header: SettlementReports.dailyHeader, cells: $0) }
            func sum(_ column: String) -> Int64 {
                objects.reduce(0) { total, row in
                    if case .number(let value)? = row[column] { return total + value }
                    return total
                }
            }
            totals = Totals(count: sum("count"), total: sum("total"), fund: sum("fund"), account: sum("account"), aid: sum("aid"),
                            cash: sum("cash"))
            self.refusals = refusals
        }
    }

    struct Terminal: Encodable, Sendable {
        let terminal: String
        let institution: String
        let kind: String
        let enabled: Bool

        init(_ listing: TerminalListing) {
            terminal = listing.id
            institution = listing.institution
            kind = listing.kind.rawValue
            enabled = listing.enabled
        }
    }

    /// A terminal after `disable` or `enable`.
    struct TerminalState: Encodable, Sendable {
        let terminal: String
        let enabled: Bool
    }

    struct Operator: Encodable, Sendable {
        let `operator`: String
    }
}
