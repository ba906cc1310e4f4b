import PGClient

/// What must hold in the database after any run, whatever happened during it.
public enum InvariantCheck {
    struct Figures: PGRowDecodable {
        let credits, debits, payouts, balances, minBalance, maxWrong, rows, qrUses: Int64
        /// Traceability codes held by two standing settlements; codes of undone ones not released.
        let codesSoldTwice, codesUnreleased: Int64
        /// (person, year, visit) whose accumulators differ from the sums of their standing settlements.
        let accumulatorsOff: Int64
        /// Persons whose balance differs from their own credits − debits − payout; aid with no binding.
        let balancesOff, aidUnbound: Int64
        init(_ row: inout PGRow) {
            balancesOff = row("balances_off")
            aidUnbound = row("aid_unbound")
            codesSoldTwice = row("codes_sold_twice")
            codesUnreleased = row("codes_unreleased")
            accumulatorsOff = row("accumulators_off")
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

    /// - Money is conserved across holders' and family payers' accounts: credits − (account + aid)
    ///   of settlements still settled − payouts = Σ balances.
    /// - So it is person by person: each balance = the person's credits − the account part of their
    ///   own standing settlements − the aid they paid for members' standing settlements − payout.
    /// - Every settlement with aid names a payer bound (then or still) to its holder.
    /// - No balance is below 0 and no wrong-PIN count above 6.
    /// - No traceability code is held by two standing settlements, and an undone settlement's
    ///   codes are released.
    /// - Each person's year accumulators equal the sums of their standing settlements of that year
    ///   and visit type (deductible, pool, and the layers' burden and payments).
    /// - One settlement row per OK SETTLE reply of this run (none for a refusal).
    /// - One QR use (the `qr_paid` card event the store writes with `trace=<trace>`) per OK SETTLE
    ///   reply of this run that paid by QR.
    public static func check(conninfo: String, runID: String, okSettlements: Int, okQRSettlements: Int) throws -> Result {
        let connection = try PGConnection(conninfo: conninfo)
        guard let figures = try connection.query(PGStatement<Figures, String>("invariant_figures", """
            SELECT (SELECT coalesce(sum(amount), 0) FROM account_credit)::bigint AS credits,
                   (SELECT coalesce(sum(account + aid), 0) FROM settlement WHERE state = 'settled')::bigint AS debits,
                   (SELECT coalesce(sum(payout), 0) FROM person)::bigint AS payouts,
                   (SELECT coalesce(sum(balance), 0) FROM person)::bigint AS balances,
                   (SELECT coalesce(min(balance), 0) FROM person)::bigint AS min_balance,
                   (SELECT coalesce(max(wrong_count), 0) FROM card)::bigint AS max_wrong,
                   (SELECT count(*) FROM settlement WHERE trace LIKE $1 || '-%') AS rows,
                   (SELECT count(*) FROM card_event WHERE event = 'qr_paid' AND detail LIKE 'trace=' || $1 || '-%') AS qr_uses,
                   (SELECT count(*) FROM (SELECT 1 FROM trace_code t JOIN settlement s ON s.id = t.settlement_id
                                          WHERE s.state = 'settled' AND t.released_at IS NULL
                                          GROUP BY t.code_hi, t.code_lo HAVING count(*) > 1) twice) AS codes_sold_twice,
                   (SELECT count(*) FROM trace_code t JOIN settlement s ON s.id = t.settlement_id
                    WHERE s.state <> 'settled' AND t.released_at IS NULL) AS codes_unreleased,
                   (SELECT count(*) FROM (
                        SELECT person_id, extract(year FROM business_date)::smallint AS year, visit,
                               sum(deductible) AS deductible, sum(fund - illness - assist) AS pool,
                               sum(CASE WHEN visit = 'pharmacy' THEN 0 ELSE inscope - (fund - illness - assist) END) AS burden,
                               sum(illness) AS illness, sum(assist) AS assist
                        FROM settlement WHERE state = 'settled' GROUP BY 1, 2, 3) s
                    FULL JOIN accumulator a ON a.person_id = s.person_id AND a.year = s.year AND a.visit = s.visit
                    WHERE coalesce(a.deductible_met, 0) <> coalesce(s.deductible, 0) OR coalesce(a.fund_paid, 0) <> coalesce(s.pool, 0)
                       OR coalesce(a.burden, 0) <> coalesce(s.burden, 0) OR coalesce(a.illness_paid, 0) <> coalesce(s.illness, 0)
                       OR coalesce(a.assist_paid, 0) <> coalesce(s.assist, 0)) AS accumulators_off,
                   (SELECT count(*) FROM person p
                    LEFT JOIN (SELECT person_id, sum(amount) AS amount FROM account_credit GROUP BY 1) c ON c.person_id = p.id
                    LEFT JOIN (SELECT person_id, sum(account) AS amount FROM settlement WHERE state = 'settled' GROUP BY 1) own
                           ON own.person_id = p.id
                    LEFT JOIN (SELECT aid_payer, sum(aid) AS amount FROM settlement WHERE state = 'settled' AND aid > 0 GROUP BY 1) paid
                           ON paid.aid_payer = p.id
                    WHERE p.balance <> coalesce(c.amount, 0) - coalesce(own.amount, 0) - coalesce(paid.amount, 0) - p.payout) AS balances_off,
                   (SELECT count(*) FROM settlement s WHERE s.aid > 0 AND NOT EXISTS (
                        SELECT 1 FROM family_binding b WHERE b.payer_id = s.aid_payer AND b.member_id = s.person_id)) AS aid_unbound
            """)(runID)).first else { preconditionFailure("scalar subqueries return one row") }
        let (credits, debits, payouts, balances) = (figures.credits, figures.debits, figures.payouts, figures.balances)
        let (minBalance, maxWrong, rows, qrUses) = (figures.minBalance, figures.maxWrong, figures.rows, figures.qrUses)
        var failures: [String] = []
        if credits - debits - payouts != balances {
            failures.append("money not conserved: credits \(credits) − debits \(debits) − payouts \(payouts) ≠ balances \(balances)")
        }
        if figures.balancesOff > 0 {
            failures.append("\(figures.balancesOff) balances differ from their person's credits − debits (own and as payer) − payout")
        }
        if figures.aidUnbound > 0 { failures.append("\(figures.aidUnbound) settlements carry aid from a payer never bound to their holder") }
        if minBalance < 0 { failures.append("a balance is below 0: \(minBalance)") }
        if maxWrong > 6 { failures.append("a wrong-PIN count is above 6: \(maxWrong)") }
        if rows != Int64(okSettlements) {
            failures.append("\(rows) settlement rows for this run, but \(okSettlements) OK SETTLE replies")
        }
        if figures.codesSoldTwice > 0 { failures.append("\(figures.codesSoldTwice) traceability codes are held by two standing settlements") }
        if figures.codesUnreleased > 0 { failures.append("\(figures.codesUnreleased) codes of undone settlements are not released") }
        if figures.accumulatorsOff > 0 {
            failures.append("\(figures.accumulatorsOff) year accumulators differ from the sums of their standing settlements")
        }
        if qrUses != Int64(okQRSettlements) {
            failures.append("\(qrUses) QR payments recorded for this run, but \(okQRSettlements) OK SETTLE replies paid by QR")
        }
        return Result(failures: failures, details: ["credits": credits, "debits": debits, "payouts": payouts,
                                                    "balances": balances, "settlement_rows": rows, "qr_payments": qrUses])
    }
}
