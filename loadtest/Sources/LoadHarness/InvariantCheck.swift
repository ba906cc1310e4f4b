import PGClient

/// What must hold in the database after any run, whatever happened during it.
public enum InvariantCheck {
    struct Figures: PGRowDecodable {
        let credits, debits, payouts, balances, minBalance, maxWrong, rows, qrUses: Int64
        init(_ row: inout PGRow) {
            credits = row("credits")
            debits = row("debits")
            payouts = row("payouts")
            balances = row("balances")
            minBalance = row("min_balance")
            maxWrong = row("max_wrong")
            rows = row("rows")
            qrUses = row("qr_uses")
        }
    }

    public struct Result: Sendable {
        public let failures: [String]
        public let details: [String: Int64]
        public var passed: Bool { failures.isEmpty }
    }

    /// The check after `run`, with the settlements its replies (and QUERYs) say it made.
    public static func check(conninfo: String, after run: LoadRun) throws -> Result {
        try check(conninfo: conninfo, runID: run.runID, okSettlements: run.stats.createdSettlements,
                  okQRSettlements: run.stats.createdQRSettlements)
    }

    /// - Money is conserved: credits − account debits of settlements still settled − payouts = Σ balances.
    /// - No balance is below 0 and no wrong-PIN count above 6.
    /// - One settlement row per OK SETTLE reply of this run (none for a refusal).
    /// - One QR use (the `qr_paid` card event the store writes with `trace=<trace>`) per OK SETTLE
    ///   reply of this run that paid by QR.
    public static func check(conninfo: String, runID: String, okSettlements: Int, okQRSettlements: Int) throws -> Result {
        let connection = try PGConnection(conninfo: conninfo)
        guard let figures = try connection.query(PGStatement<Figures, String>("invariant_figures", """
            SELECT (SELECT coalesce(sum(amount), 0) FROM account_credit)::bigint AS credits,
                   (SELECT coalesce(sum(account), 0) FROM settlement WHERE state = 'settled')::bigint AS debits,
                   (SELECT coalesce(sum(payout), 0) FROM person)::bigint AS payouts,
                   (SELECT coalesce(sum(balance), 0) FROM person)::bigint AS balances,
                   (SELECT coalesce(min(balance), 0) FROM person)::bigint AS min_balance,
                   (SELECT coalesce(max(wrong_count), 0) FROM card)::bigint AS max_wrong,
                   (SELECT count(*) FROM settlement WHERE trace LIKE $1 || '-%') AS rows,
                   (SELECT count(*) FROM card_event WHERE event = 'qr_paid' AND detail LIKE 'trace=' || $1 || '-%') AS qr_uses
            """)(runID)).first else { preconditionFailure("scalar subqueries return one row") }
        let (credits, debits, payouts, balances) = (figures.credits, figures.debits, figures.payouts, figures.balances)
        let (minBalance, maxWrong, rows, qrUses) = (figures.minBalance, figures.maxWrong, figures.rows, figures.qrUses)
        var failures: [String] = []
        if credits - debits - payouts != balances {
            failures.append("money not conserved: credits \(credits) − debits \(debits) − payouts \(payouts) ≠ balances \(balances)")
        }
        if minBalance < 0 { failures.append("a balance is below 0: \(minBalance)") }
        if maxWrong > 6 { failures.append("a wrong-PIN count is above 6: \(maxWrong)") }
        if rows != Int64(okSettlements) {
            failures.append("\(rows) settlement rows for this run, but \(okSettlements) OK SETTLE replies")
        }
        if qrUses != Int64(okQRSettlements) {
            failures.append("\(qrUses) QR payments recorded for this run, but \(okQRSettlements) OK SETTLE replies paid by QR")
        }
        return Result(failures: failures, details: ["credits": credits, "debits": debits, "payouts": payouts,
                                                    "balances": balances, "settlement_rows": rows, "qr_payments": qrUses])
    }
}
