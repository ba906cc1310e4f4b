import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleSQL
import MedsettleStore
import PGClient
import Testing

/// Corrections during a hospital stay, RULES.md §11 and §12: FEESUNDO withdraws one upload's
/// lines, ADMITCANCEL cancels an admission that bills nothing. H001 is level 3 (employee
/// inpatient: deductible 100 000 per admission, fund 80 %); H001-01 and H001-02 are its terminals.
@Suite(.timeLimit(.minutes(2)))
struct StayCorrectionsTests {
    /// Batch F1: 5 bed days (A) 20000, nursing (A) 12500, air conditioning (C) 2500 = 35000.
    static let batch1 = "S001*5@4000;S002*5@2500;S007*5@500"
    /// Batch F2: a stent (B, 800000, over its 700000 limit), blood tests (A) 4000, atorvastatin
    /// (B, 10 % first) 9000 = 813000.
    static let batch2 = "S006*1@800000;S004*2@2000;B001*3@3000"

    @Test func withdrawnLinesAreNotPricedAndTheDischargeBillsTheRest() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 200_000)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            let admission = try #require(try await c.request("ADMIT t trace=W-A card=\(card) pin=470291").value("admission"))
            #expect(try await c.request("FEES t trace=F1 admission=\(admission) items=\(Self.batch1)").value("total") == "35000")
            #expect(try await c.request("FEES t trace=F2 admission=\(admission) items=\(Self.batch2)").value("total") == "848000")

            // Withdrawing F1 leaves F2's 3 lines.
            let undo = try await c.request("FEESUNDO t trace=U1 admission=\(admission) of=F1")
            #expect(undo.ok && undo.value("lines") == "3" && undo.value("total") == "813000" && undo.value("repeat") == nil, "\(undo)")
            // A later upload numbers on after every line ever uploaded, and is counted with the rest.
            let added = try await c.request("FEES t trace=F3 admission=\(admission) items=S004*1@2000")
            #expect(added.value("lines") == "4" && added.value("total") == "815000", "\(added)")
            let undo3 = try await c.request("FEESUNDO t trace=U3 admission=\(admission) of=F3")
            #expect(undo3.value("lines") == "3" && undo3.value("total") == "813000", "\(undo3)")

            // F2 alone, by hand: total 813000; selfpay_full 100000 (the stent over its limit);
            // selfpay_first 30 % × 700000 + 10 % × 9000 = 210900; inscope 813000 − 100000 − 210900
            // = 502100; deductible 100000; fund floor(402100 × 0.8) = 321680; personal 491320;
            // account min(491320 − 100000, 200000) = 200000; cash 291320.
            let expected = "total=813000 selfpay_full=100000 selfpay_first=210900 inscope=502100 deductible=100000 fund=321680 account=200000 cash=291320"
            #expect(try await c.request("PRICE t admission=\(admission)").splitText == expected)
            let discharged = try await c.request("DISCHARGE t trace=D1 admission=\(admission) card=\(card) pin=470291")
            #expect(discharged.splitText == expected && discharged.value("balance") == "0", "\(discharged)")
            let settlement = try #require(discharged.value("settlement"))
            #expect(try engine.scalar("SELECT count(*) FROM settlement_lines WHERE settlement_id = $1",
                                      [Int64(settlement.dropFirst())!]) == 3)
            #expect(try engine.scalar("SELECT fund_paid FROM accumulator a JOIN card c ON c.person_id = a.person_id WHERE c.card_no = $1 AND visit = 'inpatient'", [card]) == 321_680)

            // Closed: no withdrawal. Cancelling the discharge reopens the stay with its standing
            // lines only; a withdrawn upload stays withdrawn.
            #expect(try await c.code("FEESUNDO t trace=U4 admission=\(admission) of=F2") == .admissionClosed)
            #expect(try await c.request("CANCEL t trace=C1 settlement=\(settlement)").value("refund") == "200000")
            #expect(try await c.request("PRICE t admission=\(admission)").splitText == expected)
            #expect(try await c.code("FEESUNDO t trace=U5 admission=\(admission) of=F1") == .alreadyCancelled)
            let emptied = try await c.request("FEESUNDO t trace=U6 admission=\(admission) of=F2")
            #expect(emptied.value("lines") == "0" && emptied.value("total") == "0", "\(emptied)")
            // No standing lines: nothing to price or discharge; cancel the admission instead.
            #expect(try await c.code("PRICE t admission=\(admission)") == .badState)
            #expect(try await c.code("DISCHARGE t trace=D2 admission=\(admission) card=\(card) pin=470291") == .badState)
            let cancelled = try await c.request("ADMITCANCEL t trace=AC1 admission=\(admission)")
            #expect(cancelled.ok && cancelled.value("admission") == admission && cancelled.value("state") == "cancelled", "\(cancelled)")
        }
        // What a withdrawn line leaves behind: the line, marked with the withdrawing trace.
        #expect(try engine.scalar("SELECT count(*) FROM admission_fee WHERE withdrawn_by = 'U1' AND withdrawn_at IS NOT NULL AND terminal = 'H001-01'") == 3)
        #expect(try engine.scalar("SELECT count(*) FROM admission_fee WHERE withdrawn_by IS NULL") == 0)
        #expect(try engine.scalar("SELECT max(line_no) FROM admission_fee") == 7)
        await engine.stop()
    }

    /// RULES.md §12's order: unknown admission, another institution's, closed or cancelled, no
    /// such upload of this admission from this terminal, already withdrawn.
    @Test func aWithdrawalIsRefusedInTheRulesOrder() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 1_000)
        let (_, otherCard) = try await engine.newCardholder(credit: 1_000)
        let (admission, other) = try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> (String, String) in
            let admission = try #require(try await c.request("ADMIT t trace=R-A card=\(card) pin=470291").value("admission"))
            let other = try #require(try await c.request("ADMIT t trace=R-B card=\(otherCard) pin=470291").value("admission"))
            #expect(try await c.request("FEES t trace=F1 admission=\(admission) items=S004*1@2000").ok)
            #expect(try await c.request("FEES t trace=F9 admission=\(other) items=S004*2@2000").ok)
            #expect(try await c.request("FEES t trace=FX admission=\(admission) items=Q999*1@100").errorCode == .unknownItem)

            #expect(try await c.code("FEESUNDO t trace=U0 admission=A999999 of=F1") == .notFound)
            #expect(try await c.code("FEESUNDO t trace=U0 admission=X1 of=F1") == .badRequest)
            #expect(try await c.code("FEESUNDO t trace=U0 admission=\(admission) of=bad*trace") == .badRequest)
            // Not a FEES of this admission: unknown, a refused FEES (it bound nothing), the
            // admission's own ADMIT, another admission's FEES.
            for of in ["NOPE", "FX", "R-A", "F9"] {
                #expect(try await c.code("FEESUNDO t trace=U0 admission=\(admission) of=\(of)") == .notFound, "\(of)")
            }
            // A refused FEESUNDO binds nothing: its trace serves the real one.
            let undo = try await c.request("FEESUNDO t trace=U0 admission=\(admission) of=F1")
            #expect(undo.value("lines") == "0" && undo.value("total") == "0", "\(undo)")
            #expect(try await c.code("FEESUNDO t trace=U1 admission=\(admission) of=F1") == .alreadyCancelled)
            // Repeats answer the first result, other content under the trace is TRACE_REUSED.
            let again = try await c.request("FEESUNDO t trace=U0 admission=\(admission) of=F1")
            #expect(again.value("repeat") == "1" && again.value("lines") == "0" && again.value("total") == "0", "\(again)")
            #expect(try await c.code("FEESUNDO t trace=U0 admission=\(other) of=F9") == .traceReused)
            #expect(try await c.code("FEESUNDO t trace=F9 admission=\(other) of=F9") == .traceReused)
            return (admission, other)
        }
        // Another hospital's terminal: FORBIDDEN, as for the other admission verbs.
        try await engine.withTerminal("H002-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.code("FEESUNDO t trace=U1 admission=\(other) of=F9") == .forbidden)
            #expect(try await c.code("ADMITCANCEL t trace=U2 admission=\(admission)") == .forbidden)
        }
        // A pharmacy may not use the verbs at all.
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.code("FEESUNDO t trace=U1 admission=\(other) of=F9") == .forbidden)
            #expect(try await c.code("ADMITCANCEL t trace=U2 admission=\(other)") == .forbidden)
        }
        // Traces are per terminal: H001-02 cannot name H001-01's upload, even under the same trace
        // word; it withdraws its own upload only.
        try await engine.withTerminal("H001-02") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.code("FEESUNDO t trace=V1 admission=\(other) of=F9") == .notFound)
            let own = try await c.request("FEES t trace=F9 admission=\(other) items=S001*1@4000")
            #expect(own.value("lines") == "2" && own.value("total") == "8000", "\(own)")
            let undo = try await c.request("FEESUNDO t trace=V1 admission=\(other) of=F9")
            #expect(undo.value("lines") == "1" && undo.value("total") == "4000", "\(undo)")
        }
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            let undo = try await c.request("FEESUNDO t trace=U2 admission=\(other) of=F9")
            #expect(undo.value("lines") == "0" && undo.value("total") == "0", "\(undo)")
            // Closed comes before the upload checks: a cancelled admission, any `of`.
            #expect(try await c.request("ADMITCANCEL t trace=C1 admission=\(other)").ok)
            #expect(try await c.code("FEESUNDO t trace=U3 admission=\(other) of=NOPE") == .admissionClosed)
        }
        await engine.stop()
    }

    @Test func anAdmissionWithoutStandingLinesIsCancelledAndThePatientAdmittedAgain() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 10_000)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            let admission = try #require(try await c.request("ADMIT t trace=K-A card=\(card) pin=470291").value("admission"))
            #expect(try await c.request("FEES t trace=F1 admission=\(admission) items=S004*1@2000").ok)
            #expect(try await c.code("ADMITCANCEL t trace=K1 admission=\(admission)") == .badState)
            #expect(try await c.code("ADMITCANCEL t trace=K1 admission=A999999") == .notFound)
            #expect(try await c.request("FEESUNDO t trace=U1 admission=\(admission) of=F1").ok)

            let cancelled = try await c.request("ADMITCANCEL t trace=K1 admission=\(admission)")
            #expect(cancelled.ok && cancelled.value("admission") == admission && cancelled.value("state") == "cancelled"
                    && cancelled.value("repeat") == nil, "\(cancelled)")
            let again = try await c.request("ADMITCANCEL t trace=K1 admission=\(admission)")
            #expect(again.value("repeat") == "1" && again.value("admission") == admission && again.value("state") == "cancelled", "\(again)")
            #expect(try await c.code("ADMITCANCEL t trace=K2 admission=\(admission)") == .admissionClosed)
            // A cancelled stay takes nothing more (RULES.md §12).
            #expect(try await c.code("FEES t trace=F2 admission=\(admission) items=S004*1@2000") == .admissionClosed)
            #expect(try await c.code("FEESUNDO t trace=U2 admission=\(admission) of=F1") == .admissionClosed)
            #expect(try await c.code("PRICE t admission=\(admission)") == .admissionClosed)
            #expect(try await c.code("DISCHARGE t trace=D1 admission=\(admission) card=\(card) pin=470291") == .admissionClosed)

            // The patient may be admitted again; the new admission is cancelled at once (no lines).
            let next = try #require(try await c.request("ADMIT t trace=K-B card=\(card) pin=470291").value("admission"))
            #expect(next != admission)
            #expect(try await c.code("ADMITCANCEL t trace=K1 admission=\(next)") == .traceReused)
            #expect(try await c.request("ADMITCANCEL t trace=K3 admission=\(next)").value("state") == "cancelled")

            // A discharged admission is closed, not cancellable.
            let third = try #require(try await c.request("ADMIT t trace=K-C card=\(card) pin=470291").value("admission"))
            #expect(try await c.request("FEES t trace=F3 admission=\(third) items=S004*1@2000").ok)
            #expect(try await c.request("DISCHARGE t trace=D3 admission=\(third) card=\(card) pin=470291").ok)
            #expect(try await c.code("ADMITCANCEL t trace=K4 admission=\(third)") == .admissionClosed)
        }
        #expect(try engine.scalar("SELECT count(*) FROM admission a JOIN card c ON c.person_id = a.person_id WHERE c.card_no = $1 AND a.status = 'cancelled' AND a.closed_at IS NOT NULL", [card]) == 2)
        await engine.stop()
    }

    /// Migration 0008 gives lines uploaded before it the terminal of their upload, read from the
    /// FEES traces' answers (the running line count) — also when two terminals of the hospital
    /// used the same trace word on one admission — and leaves a line it cannot tell without one.
    @Test func linesFromBeforeMigration8TakeTheirUploadsTerminal() throws {
        let connection = try PGConnection(conninfo: try SafeMigrationTests.emptyDatabase())
        let shipped = try SQLResources.migrations()
        try Migrator.migrate(connection, migrations: shipped.filter { $0.version < 8 })
        let zeros = { (bytes: Int) in "'\\x\(String(repeating: "00", count: bytes))'::bytea" }
        try connection.execute("""
            INSERT INTO institution (code, name, kind, level) VALUES ('H1', 'h', 'hospital', 3), ('H2', 'h', 'hospital', 3);
            INSERT INTO terminal (id, institution, key_sealed) VALUES ('T1', 'H1', '\\x00'), ('T2', 'H1', '\\x00'), ('T3', 'H1', '\\x00'),
                                                                     ('X1', 'H2', '\\x00');
            INSERT INTO person (id_no, name, insurance, area, has_account) VALUES ('110101199001010011', 'p', 'employee', '110101', true);
            INSERT INTO card (card_no, person_id, status, pin_salt, pin_hash)
                SELECT 'H00000001', id, 'ACTIVE', \(zeros(16)), \(zeros(32)) FROM person;
            INSERT INTO admission (person_id, card_no, institution, terminal, trace)
                SELECT id, 'H00000001', 'H1', 'T1', 'ADM' FROM person;
            -- T1 uploads F1 (lines 1-2), T2 uploads F1 too (3-4), T1 uploads F2 (5); T3 uploaded
            -- G1 ending at line 6 and so did X1 of another hospital (not a candidate); T1 and T2
            -- both answered lines=7 under H1 (7 cannot be told).
            INSERT INTO admission_fee (admission_id, line_no, code, qty_milli, price, amount, trace,
                                       catalog_version, class, price_limit, first_selfpay_bp)
                SELECT a.id, x.n, 'S004', 1000, 100, 100, x.trace, 1, 'A', 0, 0
                FROM admission a, (VALUES (1, 'F1'), (2, 'F1'), (3, 'F1'), (4, 'F1'), (5, 'F2'), (6, 'G1'), (7, 'H1')) AS x(n, trace);
            INSERT INTO trace (terminal, trace, verb, fingerprint, reply) VALUES
                ('T1', 'F1', 'FEES', \(zeros(32)), 'lines=2 total=200'), ('T2', 'F1', 'FEES', \(zeros(32)), 'lines=4 total=400'),
                ('T1', 'F2', 'FEES', \(zeros(32)), 'lines=5 total=500'), ('T3', 'G1', 'FEES', \(zeros(32)), 'lines=6 total=600'),
                ('X1', 'G1', 'FEES', \(zeros(32)), 'lines=6 total=600'), ('T1', 'H1', 'FEES', \(zeros(32)), 'lines=7 total=700'),
                ('T2', 'H1', 'FEES', \(zeros(32)), 'lines=7 total=700'), ('T3', 'F9', 'SETTLE', \(zeros(32)), 'x=1');
            """)
        try Migrator.migrate(connection, migrations: shipped)
        let rows = try connection.query("SELECT line_no, coalesce(terminal, '-') FROM admission_fee ORDER BY line_no")
        #expect((0..<rows.rowCount).map { rows.string($0, 1) } == ["T1", "T1", "T2", "T2", "T1", "T3", "-"])
        #expect(try connection.query("SELECT count(*) FROM admission_fee WHERE withdrawn_by IS NOT NULL").int64(0, 0) == 0)
    }
}
