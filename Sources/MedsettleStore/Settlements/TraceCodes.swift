import MedsettleCore
import PGClient

/// Sold traceability codes (RULES.md §10, `trace_code`, migration 0007). A claim probes the codes
/// it presents (`sold`) with its other reads; an OK settlement inserts them with its other rows
/// (`WriteSet`); cancel and reversal release them (`UndoSQL.undo`). The partial unique index on
/// standing codes makes the database the arbiter: of two transactions selling one code, the
/// second fails with a unique violation, is retried by `TransactionRunner`, and then finds the
/// code sold (docs/DESIGN.md, "Traceability codes").
enum TraceCodeSQL {
    /// Which of the given codes (as `code_hi`, `code_lo` arrays) a standing settlement has sold.
    /// Reads only the unique index's columns under its predicate: an index-only scan.
    static let sold = PGStatement<SoldCode, PGArray<Int64>, PGArray<Int64>>("trace_codes_sold", """
        SELECT t.code_hi, t.code_lo
        FROM unnest($1::smallint[], $2::bigint[]) AS x(hi, lo)
        JOIN trace_code t ON t.code_hi = x.hi AND t.code_lo = x.lo AND t.released_at IS NULL
        """)

    /// The probe for every code of `lines` (not sent when they present none).
    static func sold(in lines: [ClaimLine]) -> PGBound<SoldCode> {
        let codes = lines.flatMap(\.traceCodes)
        guard !codes.isEmpty else { return .noRows }
        return sold(PGArray(codes.map(\.high)), PGArray(codes.map(\.low)))
    }
}

/// A code some standing settlement has sold.
struct SoldCode: PGRowDecodable {
    let code: TraceCode

    init(_ row: inout PGRow) {
        guard let code = TraceCode(high: row("code_hi"), low: row("code_lo")) else {
            preconditionFailure("trace_codes_sold: a code out of range (the table's checks forbid it)")
        }
        self.code = code
    }
}
