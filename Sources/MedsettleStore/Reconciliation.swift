import MedsettleCore
import PGClient

/// Reconciliation (对账), RULES.md §5: a terminal's (or its institution's) count and sums of the
/// settlements of a business date, net of cancels and reversals, against the terminal's own.
public struct ReconTotals: Sendable, Equatable {
    public let count: Int64
    public let total: Fen
    public let fund: Fen
    public let account: Fen
    public let cash: Fen

    public init(count: Int64, total: Fen, fund: Fen, account: Fen, cash: Fen) {
        self.count = count
        self.total = total
        self.fund = fund
        self.account = account
        self.cash = cash
    }

    var fields: [(String, String)] {
        [("count", String(count)), ("total", String(total)), ("fund", String(fund)),
         ("account", String(account)), ("cash", String(cash))]
    }
}

public enum ReconScope: String, Sendable, CaseIterable {
    case terminal, institution
}

enum ReconSQL {
    static let totals = PGStatement("recon_totals", """
        SELECT count(*), coalesce(sum(total), 0), coalesce(sum(fund), 0), coalesce(sum(account), 0), coalesce(sum(cash), 0)
        FROM settlement
        WHERE business_date = $1::date AND state = 'settled'
          AND CASE WHEN $2 = 'terminal' THEN terminal = $3 ELSE institution = $4 END
        """)
}

extension Store {
    /// RECON: `match=1` when the terminal's figures equal the engine's, and the engine's figures.
    public func reconcile(date: BusinessDate, stated: ReconTotals, scope: ReconScope, by context: TerminalContext) -> Outcome {
        perform("RECON") { connection in
            let row = try connection.query(ReconSQL.totals, [date.yyyymmdd, scope.rawValue, context.terminal, context.institution])
            let engine = ReconTotals(count: try row.requireInt64(0, 0), total: try row.requireInt64(0, 1),
                                     fund: try row.requireInt64(0, 2), account: try row.requireInt64(0, 3),
                                     cash: try row.requireInt64(0, 4))
            return .ok([("match", engine == stated ? "1" : "0")] + engine.fields)
        }
    }
}

/// Reports over the settlements, for the `medsettle recon export` and `report daily` commands.
public enum SettlementReports {
    public static let exportHeader = ["settlement", "business_date", "institution", "terminal", "trace", "card", "visit",
                                      "total", "selfpay_full", "selfpay_first", "inscope", "deductible", "fund",
                                      "account", "cash", "state", "settled_at", "undone_at"]

    /// One row per settlement of `institution` on `date` (every state), in the export's column order.
    public static func detail(_ connection: PGConnection, institution: String, date: BusinessDate) throws -> [[String]] {
        let rows = try connection.query("""
            SELECT id, to_char(business_date, 'YYYYMMDD'), institution, terminal, trace, card_no, visit,
                   total, selfpay_full, selfpay_first, inscope, deductible, fund, account, cash, state,
                   to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS'),
                   coalesce(to_char(undone_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS'), '')
            FROM settlement WHERE institution = $1 AND business_date = $2::date ORDER BY id
            """, [institution, date.yyyymmdd])
        return try (0..<rows.rowCount).map { row in
            [WireID.settlement.encode(try rows.requireInt64(row, 0))] + (try (1..<18).map { try rows.requireString(row, $0) })
        }
    }

    /// Per-institution totals of `date`, net of cancels and reversals: code, name, count, sums.
    public static func daily(_ connection: PGConnection, date: BusinessDate) throws -> [[String]] {
        let rows = try connection.query("""
            SELECT i.code, i.name, count(s.id), coalesce(sum(s.total), 0), coalesce(sum(s.fund), 0),
                   coalesce(sum(s.account), 0), coalesce(sum(s.cash), 0)
            FROM institution i
            JOIN settlement s ON s.institution = i.code AND s.business_date = $1::date AND s.state = 'settled'
            GROUP BY i.code, i.name ORDER BY i.code
            """, [date.yyyymmdd])
        return try (0..<rows.rowCount).map { row in try (0..<7).map { try rows.requireString(row, $0) } }
    }
}
