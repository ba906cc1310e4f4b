import PGClient

extension LoadSeeder {
    /// Adds `count` past settlements (each with one line and its trace) spread over the generated
    /// people and terminals, so that load tests can measure a database that has grown. They are
    /// paid in cash (account 0), so the money invariants hold as before. Traces are `HIST-<n>`;
    /// re-running adds the ones not there yet. Set-based, in transactions of `chunk` rows.
    @discardableResult
    public static func loadHistory(_ connection: PGConnection, count: Int, chunk: Int = 500_000,
                                   progress: (Int) -> Void = { _ in }) throws -> Int {
        precondition(count >= 0 && chunk > 0, "history sizes are positive")
        let (people, terminals, histories) = try connection.pipeline(
            PGStatement<PGCount>("load_card_count", "SELECT count(*) AS count FROM card WHERE card_no LIKE 'L%'")(),
            PGStatement<PGCount>("load_terminal_count", "SELECT count(*) AS count FROM terminal WHERE id LIKE 'LOAD-P%'")(),
            PGStatement<PGCount>("load_history_count", "SELECT count(*) AS count FROM trace WHERE trace LIKE 'HIST-%'")())
        guard let people = people.first.map({ Int($0.count) }), let terminals = terminals.first.map({ Int($0.count) }),
              people > 0, terminals > 0 else {
            throw LoadDataMissing()
        }
        let existing = Int(histories.first?.count ?? 0)
        var next = existing + 1
        while next <= count {
            let last = min(count, next + chunk - 1)
            _ = try connection.query(PGStatement<PGNoRows, Int64, Int64, Int64, Int64>("load_history", """
                WITH s AS (
                    INSERT INTO settlement (terminal, institution, trace, person_id, card_no, visit, business_date,
                                            total, selfpay_full, selfpay_first, inscope, deductible, fund, account, cash,
                                            balance_after, line_codes, line_qty_milli, line_prices, line_amounts,
                                            line_selfpay_full, line_selfpay_first)
                    SELECT t.id, t.institution, 'HIST-' || g, c.person_id, c.card_no, 'pharmacy',
                           date '2026-01-01' + (g % 330)::integer, 1200, 0, 0, 1200, 0, 0, 0, 1200, 0,
                           '{A002}', '{1000}', '{1200}', '{1200}', '{0}', '{0}'
                    FROM generate_series($1::bigint, $2::bigint) g
                    JOIN card c ON c.card_no = 'L' || lpad(((g % $3) + 1)::text, 8, '0')
                    JOIN terminal t ON t.id = 'LOAD-P' || lpad(((g % $4) + 1)::text, 4, '0')
                    RETURNING id, terminal, trace
                )
                INSERT INTO trace (terminal, trace, verb, fingerprint, settlement_id)
                SELECT terminal, trace, 'SETTLE', sha256(convert_to(trace, 'UTF8')), id FROM s
                """)(Int64(next), Int64(last), Int64(people), Int64(terminals)))
            progress(last)
            next = last + 1
        }
        // As a database that grew over months would be: vacuumed (hint bits set, visibility map
        // built) and analyzed, rather than fresh from a bulk load that the first reads rewrite.
        for table in ["settlement", "trace"] { try connection.execute("VACUUM ANALYZE \(table)") }
        return max(0, count - existing)
    }
}

/// `medsettle seed --history` before the people and terminals it spreads settlements over.
struct LoadDataMissing: Error, CustomStringConvertible {
    var description: String { "seed people and terminals first" }
}
