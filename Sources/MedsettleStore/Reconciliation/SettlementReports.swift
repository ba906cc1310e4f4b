import MedsettleCore
import PGClient

/// One settlement as `medsettle recon export` prints it.
public struct SettlementExportRow: PGRowDecodable, Sendable {
    public let cells: [String]

    public init(_ row: inout PGRow) {
        let id: Int64 = row("id")
        cells = [WireID.settlement.encode(id), row("business_date"), row("institution"), row("terminal"), row("trace"), row("card_no"),
                 row("visit"), String(row("total") as Int64), String(row("selfpay_full") as Int64),
                 String(row("selfpay_first") as Int64), String(row("inscope") as Int64), String(row("deductible") as Int64),
                 String(row("fund") as Int64), String(row("account") as Int64), String(row("cash") as Int64), row("state"),
                 row("settled_at"), row("undone_at"), String(row("catalog_version") as Int), String(row("policy_version") as Int),
                 String(row("pool") as Int64), String(row("illness") as Int64), String(row("assist") as Int64), String(row("aid") as Int64)]
    }
}

/// One institution's day as `medsettle report daily` prints it.
public struct InstitutionDayRow: PGRowDecodable, Sendable {
    public let cells: [String]

    public init(_ row: inout PGRow) {
        cells = [row("code"), row("name"), String(row("count") as Int64), String(row("total") as Int64), String(row("fund") as Int64),
                 String(row("account") as Int64), String(row("cash") as Int64), String(row("pool") as Int64),
                 String(row("illness") as Int64), String(row("assist") as Int64), String(row("aid") as Int64)]
    }
}

/// Reports over the settlements, for the `medsettle recon export` and `report daily` commands.
public enum SettlementReports {
    public static let exportHeader = ["settlement", "business_date", "institution", "terminal", "trace", "card", "visit",
                                      "total", "selfpay_full", "selfpay_first", "inscope", "deductible", "fund",
                                      "account", "cash", "state", "settled_at", "undone_at", "catalog_version", "policy_version",
                                      "pool", "illness", "assist", "aid"]

    /// The columns of an export row, read by `SettlementExportRow` (the day's file and one settlement alike).
    private static let exportColumns = """
        SELECT id, to_char(business_date, 'YYYYMMDD') AS business_date, institution, terminal, trace, card_no, visit,
               total, selfpay_full, selfpay_first, inscope, deductible, fund, account, cash, state,
               to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') AS settled_at,
               coalesce(to_char(undone_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS'), '') AS undone_at,
               catalog_version, policy_version, fund - illness - assist AS pool, illness, assist, aid
        FROM settlement
        """

    static let detailSQL = PGStatement<SettlementExportRow, String, String>("report_settlements_of_day",
        exportColumns + " WHERE institution = $1 AND business_date = $2::date ORDER BY id")

    static let byIDSQL = PGStatement<SettlementExportRow, Int64>("report_settlement_by_id", exportColumns + " WHERE id = $1")

    static let dailySQL = PGStatement<InstitutionDayRow, String>("report_institution_days", """
        SELECT i.code, i.name, count(s.id) AS count, coalesce(sum(s.total), 0)::bigint AS total, coalesce(sum(s.fund), 0)::bigint AS fund,
               coalesce(sum(s.account), 0)::bigint AS account, coalesce(sum(s.cash), 0)::bigint AS cash,
               coalesce(sum(s.fund - s.illness - s.assist), 0)::bigint AS pool, coalesce(sum(s.illness), 0)::bigint AS illness,
               coalesce(sum(s.assist), 0)::bigint AS assist, coalesce(sum(s.aid), 0)::bigint AS aid
        FROM institution i
        JOIN settlement s ON s.institution = i.code AND s.business_date = $1::date AND s.state = 'settled'
        GROUP BY i.code, i.name ORDER BY i.code
        """)

    /// One row per settlement of `institution` on `date` (every state), in the export's column order.
    public static func detail(_ connection: PGConnection, institution: String, date: BusinessDate) throws -> [[String]] {
        try connection.query(detailSQL(institution, date.yyyymmdd)).map(\.cells)
    }

    /// One settlement (any state) by its wire id (`S…`), in the export's columns; nil when there is none.
    public static func settlement(_ connection: PGConnection, id: String) throws -> [String]? {
        guard let row = WireID.settlement.decode(id) else { return nil }
        return try connection.query(byIDSQL(row)).first?.cells
    }

    /// The columns of `daily`'s rows.
    public static let dailyHeader = ["institution", "name", "count", "total", "fund", "account", "cash", "pool", "illness", "assist", "aid"]

    /// Per-institution totals of `date`, net of cancels and reversals: code, name, count, sums.
    public static func daily(_ connection: PGConnection, date: BusinessDate) throws -> [[String]] {
        try connection.query(dailySQL(date.yyyymmdd)).map(\.cells)
    }

    /// A report as an RFC 4180 file: the header, then the rows, each line ending in LF.
    public static func csv(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled.
    static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
