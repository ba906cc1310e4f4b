import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleStore
import PGClient
import Testing

/// CANCEL, REVERSE, QUERY states and the calendar year boundary (RULES.md §5).
@Suite(.timeLimit(.minutes(2)))
struct SettlementLifecycleTests {
    func balance(_ engine: TestEngine, _ card: String) throws -> Int64? {
        try engine.scalar("SELECT balance FROM person p JOIN card c ON c.person_id = p.id WHERE c.card_no = $1", [card])
    }

    @Test func cancelCreditsBackOnceAndOnlyForItsInstitution() async throws {
        let engine = try await TestEngine.start()
        let settlement = try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> String in
            let settled = try await c.request("SETTLE t trace=S1 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*2@1250;C001*1@3000")
            #expect(settled.value("balance") == "47500")
            return try #require(settled.value("settlement"))
        }
        try await engine.withTerminal("P002-01") { (c: MSLPConnection) async throws -> Void in
            let foreign = try await c.code("CANCEL t trace=X1 settlement=\(settlement)")
            #expect(foreign == .forbidden)
        }
        try await engine.withTerminal("P001-02") { (c: MSLPConnection) async throws -> Void in
            // Another terminal of the same institution may cancel.
            let cancelled = try await c.request("CANCEL t trace=C1 settlement=\(settlement)")
            #expect(cancelled.ok && cancelled.value("refund") == "2500" && cancelled.value("balance") == "50000")
            let repeated = try await c.request("CANCEL t trace=C1 settlement=\(settlement)")
            #expect(repeated.ok && repeated.value("repeat") == "1" && repeated.value("balance") == "50000")
            let twice = try await c.code("CANCEL t trace=C2 settlement=\(settlement)")
            #expect(twice == .alreadyCancelled)
            let unknown = try await c.code("CANCEL t trace=C3 settlement=SZZZZ")
            #expect(unknown == .notFound)
            let malformed = try await c.code("CANCEL t trace=C4 settlement=42")
            #expect(malformed == .badRequest)
        }
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("QUERY t trace=S1").value("state") == "cancelled")
            let again = try await c.request("SETTLE t trace=S1 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*2@1250;C001*1@3000")
            #expect(again.ok && again.value("repeat") == "1")
        }
        #expect(try balance(engine, Demo.employeeCard) == 50_000)
        await engine.stop()
    }

    @Test func reverseUndoesOrBlocks() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let line = "card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=B002*1@2000"
            #expect(try await c.request("SETTLE t trace=R1 \(line)").ok)
            #expect(try await c.request("REVERSE t trace=R1").value("state") == "undone")
            #expect(try await c.request("REVERSE t trace=R1").value("state") == "undone")
            #expect(try await c.request("QUERY t trace=R1").value("state") == "reversed")
            let late = try await c.code("SETTLE t trace=R1 \(line)")
            #expect(late == .reversed)
            // Never arrived: blocked, and the late original is refused.
            #expect(try await c.request("REVERSE t trace=R2").value("state") == "blocked")
            #expect(try await c.request("REVERSE t trace=R2").value("state") == "blocked")
            #expect(try await c.request("QUERY t trace=R2").value("state") == "reversed")
            let blocked = try await c.code("SETTLE t trace=R2 \(line)")
            #expect(blocked == .reversed)
            // Already cancelled: undone, nothing moves.
            let settled = try await c.request("SETTLE t trace=R3 \(line)")
            let settlement = try #require(settled.value("settlement"))
            #expect(try await c.request("CANCEL t trace=R3C settlement=\(settlement)").ok)
            #expect(try await c.request("REVERSE t trace=R3").value("state") == "undone")
            let reverseCancel = try await c.code("REVERSE t trace=R3C")
            #expect(reverseCancel == .badRequest)
        }
        // Reversal is per terminal: P001-02 never sent R1.
        try await engine.withTerminal("P001-02") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("REVERSE t trace=R1").value("state") == "blocked")
        }
        #expect(try balance(engine, Demo.employeeCard) == 50_000)
        #expect(try engine.scalar("SELECT count(*) FROM settlement WHERE state = 'settled'") == 0)
        await engine.stop()
    }

    /// An original and its reversal sent at the same moment on two connections: whichever wins,
    /// the outcome is one of the two consistent pairs and no money moves in the end.
    @Test func originalAndReversalRaceToOneOutcome() async throws {
        let engine = try await TestEngine.start()
        for round in 0..<12 {
            async let settle = engine.withTerminal("P001-01") { c in
                try await c.request("SETTLE t trace=RACE\(round) card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*1@1000")
            }
            async let reverse = engine.withTerminal("P001-01") { c in try await c.request("REVERSE t trace=RACE\(round)") }
            let (s, r) = try await (settle, reverse)
            if s.ok {
                #expect(r.value("state") == "undone", "round \(round): \(s) / \(r)")
            } else {
                #expect(s.errorCode == .reversed && r.value("state") == "blocked", "round \(round): \(s) / \(r)")
            }
        }
        #expect(try balance(engine, Demo.employeeCard) == 50_000)
        #expect(try engine.scalar("SELECT count(*) FROM settlement WHERE state = 'settled'") == 0)
        await engine.stop()
    }

    /// A settlement at 23:59:59 on 31 December and its cancel on 1 January: the cancel reduces the
    /// accumulators of the settlement's year, and the settlement leaves its own date's recon.
    @Test func cancelAcrossTheYearBoundary() async throws {
        let lastSecond: Int64 = 1_798_732_799 // 2026-12-31 23:59:59 Asia/Shanghai
        let engine = try await TestEngine.start(now: lastSecond)
        let (_, card) = try await engine.newCardholder(credit: 30_000)
        let settlement = try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> String in
            let settled = try await c.request("SETTLE t trace=NYE card=\(card) pin=470291 items=S004*5@2000")
            #expect(settled.value("deductible") == "10000")
            return try #require(settled.value("settlement"))
        }
        #expect(try engine.scalar("SELECT to_char(business_date, 'YYYYMMDD')::bigint FROM settlement") == 20_261_231)
        engine.clock.advance(by: 2)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("SIGNOUT t").ok)
        }
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("CANCEL t trace=NYD settlement=\(settlement)").ok)
            let recon = try await c.request("RECON t date=20261231 count=0 total=0 fund=0 account=0 cash=0")
            #expect(recon.value("match") == "1")
        }
        let acc2026 = try engine.scalar("SELECT deductible_met FROM accumulator a JOIN card c ON c.person_id = a.person_id WHERE c.card_no = $1 AND year = 2026", [card])
        let rows2027 = try engine.scalar("SELECT count(*) FROM accumulator a JOIN card c ON c.person_id = a.person_id WHERE c.card_no = $1 AND year = 2027", [card])
        #expect(acc2026 == 0 && rows2027 == 0)
        await engine.stop()
    }

    @Test func reconMatchesNetOfCancelsPerTerminalAndInstitution() async throws {
        let engine = try await TestEngine.start()
        let line = "card=\(Demo.employeeCard) pin=\(Demo.employeePIN)"
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            _ = try await c.request("SETTLE t trace=A1 \(line) items=A001*2@1250;C001*1@3000")   // 5500: account 2500 cash 3000
            let second = try await c.request("SETTLE t trace=A2 \(line) items=B001*1@3000")      // 3000: account 3000
            _ = try await c.request("SETTLE t trace=A3 \(line) items=A002*1@1000")               // 1000: account 1000
            #expect(try await c.request("CANCEL t trace=A4 settlement=\(second.value("settlement")!)").ok)
        }
        try await engine.withTerminal("P001-02") { (c: MSLPConnection) async throws -> Void in
            _ = try await c.request("SETTLE t trace=B1 \(line) items=A003*1@2000")               // 2000: account 2000
        }
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let own = try await c.request("RECON t date=20261129 count=2 total=6500 fund=0 account=3500 cash=3000")
            #expect(own.value("match") == "1" && own.value("count") == "2" && own.value("total") == "6500")
            let wrong = try await c.request("RECON t date=20261129 count=3 total=9500 fund=0 account=6500 cash=3000")
            #expect(wrong.value("match") == "0" && wrong.value("count") == "2" && wrong.value("account") == "3500")
            let institution = try await c.request("RECON t date=20261129 count=3 total=8500 fund=0 account=5500 cash=3000 scope=institution")
            #expect(institution.value("match") == "1")
            let otherDay = try await c.request("RECON t date=20261128 count=0 total=0 fund=0 account=0 cash=0")
            #expect(otherDay.value("match") == "1")
            let badDate = try await c.code("RECON t date=20261131 count=0 total=0 fund=0 account=0 cash=0")
            #expect(badDate == .badRequest)
            let badScope = try await c.code("RECON t date=20261129 count=0 total=0 fund=0 account=0 cash=0 scope=city")
            #expect(badScope == .badRequest)
        }
        let detail = try engine.pool.withConnection { try SettlementReports.detail($0, institution: "P001", date: BusinessDate(yyyymmdd: "20261129")!) }
        #expect(detail.count == 4)
        #expect(detail.map { $0[15] } == ["settled", "cancelled", "settled", "settled"])
        #expect(detail[0][7] == "5500" && detail[0][13] == "2500" && detail[0][14] == "3000")
        // The versions that priced each settlement: the demo data set's catalog 1 and policy 1.
        #expect(Array(SettlementReports.exportHeader.suffix(6)) == ["catalog_version", "policy_version", "pool", "illness", "assist", "aid"])
        #expect(detail.allSatisfy { $0.suffix(6) == ["1", "1", "0", "0", "0", "0"] })
        let daily = try engine.pool.withConnection { try SettlementReports.daily($0, date: BusinessDate(yyyymmdd: "20261129")!) }
        #expect(daily.map { $0[0] } == ["P001"] && daily[0][2] == "3" && daily[0][3] == "8500")
        await engine.stop()
    }
}
