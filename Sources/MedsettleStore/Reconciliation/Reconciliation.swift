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
}

/// The engine's own sums of the layers (PROTOCOL.md revision 1.1): the basic fund, serious
/// illness, medical assistance, and family aid.
public struct ReconLayers: Sendable, Equatable {
    public let pool: Fen
    public let illness: Fen
    public let assist: Fen
    public let aid: Fen
}

/// The answer of RECON: whether the terminal's figures are the engine's, and the engine's.
public struct Reconciled: Sendable, Equatable {
    public let matches: Bool
    /// `fund` is every fund together; `account` counts the relatives' accounts' `aid` too.
    public let engine: ReconTotals
    public let layers: ReconLayers
}

/// The engine's figures of a day as one row.
struct ReconRow: PGRowDecodable {
    let totals: ReconTotals
    let layers: ReconLayers

    init(_ row: inout PGRow) {
        totals = ReconTotals(count: row("count"), total: row("total"), fund: row("fund"), account: row("account"), cash: row("cash"))
        layers = ReconLayers(pool: row("pool"), illness: row("illness"), assist: row("assist"), aid: row("aid"))
    }
}

public enum ReconScope: String, Sendable, CaseIterable {
    case terminal, institution
}

enum ReconciliationSQL {
    /// A terminal's day is read within its institution's (index `settlement_institution_date`):
    /// a terminal always belongs to the institution of its session.
    static let totals = PGStatement<ReconRow, String, String, String, String>("recon_totals", """
        SELECT count(*) AS count, coalesce(sum(total), 0)::bigint AS total, coalesce(sum(fund), 0)::bigint AS fund,
               coalesce(sum(account + aid), 0)::bigint AS account, coalesce(sum(cash), 0)::bigint AS cash,
               coalesce(sum(fund - illness - assist), 0)::bigint AS pool, coalesce(sum(illness), 0)::bigint AS illness,
               coalesce(sum(assist), 0)::bigint AS assist, coalesce(sum(aid), 0)::bigint AS aid
        FROM settlement
        WHERE business_date = $1::date AND state = 'settled'
          AND institution = $4 AND ($2 <> 'terminal' OR terminal = $3)
        """)
}

/// RECON.
public struct Reconciliation: Sendable {
    let runner: TransactionRunner

    /// RECON: whether the terminal's figures equal the engine's, and the engine's figures.
    public func reconcile(date: BusinessDate, stated: ReconTotals, scope: ReconScope, by context: TerminalContext) -> Answer<Reconciled> {
        runner.read("RECON") { connection in
            guard let engine = try connection.query(ReconciliationSQL.totals(date.yyyymmdd, scope.rawValue, context.terminal,
                                                                            context.institution)).first else {
                preconditionFailure("an aggregate returns one row")
            }
            return .success(Reconciled(matches: engine.totals == stated, engine: engine.totals, layers: engine.layers))
        }
    }
}
