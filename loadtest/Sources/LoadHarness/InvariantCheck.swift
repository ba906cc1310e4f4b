import PGClient

/// What must hold in the database after any run, whatever happened during it.
public enum InvariantCheck {
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
        let row = try connection.query("""
            SELECT (SELECT coalesce(sum(amount), 0) FROM account_credit),
                   (SELECT coalesce(sum(account), 0) FROM settlement WHERE state = 'settled'),
                   (SELECT coalesce(sum(payout), 0) FROM person),
                   (SELECT coalesce(sum(balance), 0) FROM person),
                   (SELECT coalesce(min(balance), 0) FROM person),
                   (SELECT coalesce(max(wrong_count), 0) FROM card),
                   (SELECT count(*) FROM settlement WHERE trace LIKE $1 || '-%'),
                   (SELECT count(*) FROM card_event WHERE event = 'qr_paid' AND detail LIKE 'trace=' || $1 || '-%')
            """, [runID])
        let credits = try row.requireInt64(0, 0), debits = try row.requireInt64(0, 1), payouts = try row.requireInt64(0, 2)
        let balances = try row.requireInt64(0, 3), minBalance = try row.requireInt64(0, 4)
        let maxWrong = try row.requireInt64(0, 5), rows = try row.requireInt64(0, 6), qrUses = try row.requireInt64(0, 7)
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
