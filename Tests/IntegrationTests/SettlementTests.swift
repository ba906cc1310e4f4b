import MSLP
import MSLPChannel
import MedsettleCore
import Testing

/// SETTLE, PRICE and QUERY: idempotency, accumulators, the account and concurrency.
@Suite(.timeLimit(.minutes(2)))
struct SettlementTests {
    @Test func repeatAnswersTheFirstResultAndMovesNothing() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let line = "trace=R1 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=B001*2@3000"
            let first = try await c.request("SETTLE t1 \(line)")
            #expect(first.ok && first.value("repeat") == nil)
            // The PIN changes; the repeat still answers the original result.
            #expect(try await c.request("PINCHANGE t2 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) new=864209").ok)
            let again = try await c.request("SETTLE t3 \(line)")
            #expect(again.ok && again.value("repeat") == "1")
            #expect(again.value("settlement") == first.value("settlement") && again.value("balance") == first.value("balance"))
            let other = try await c.code("SETTLE t4 trace=R1 card=\(Demo.employeeCard) pin=864209 items=B001*1@3000")
            #expect(other == .traceReused)
            // A trace is the terminal's: another terminal may use the same trace for its own sale.
        }
        try await engine.withTerminal("P001-02") { (c: MSLPConnection) async throws -> Void in
            let own = try await c.request("SETTLE t1 trace=R1 card=\(Demo.employeeCard) pin=864209 items=B001*2@3000")
            #expect(own.ok && own.value("repeat") == nil)
        }
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 2)
        // 2 × 3000 = 6000, 10 % first self-pay 600 → account 6000 each time.
        #expect(try engine.scalar("SELECT balance FROM person p JOIN card c ON c.person_id = p.id WHERE c.card_no = $1", [Demo.employeeCard]) == 38_000)
        await engine.stop()
    }

    @Test func refusedRequestsBindNoTrace() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let wrong = try await c.code("SETTLE t1 trace=N1 card=\(Demo.employeeCard) pin=000000 items=A001*1@1000")
            #expect(wrong == .pinWrong)
            let unknown = try await c.request("SETTLE t2 trace=N1 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=Z999*1@1000")
            #expect(unknown.errorCode == .unknownItem && unknown.value("item") == "Z999")
            let ok = try await c.request("SETTLE t3 trace=N1 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*1@1000")
            #expect(ok.ok && ok.value("repeat") == nil)
        }
        await engine.stop()
    }

    @Test func concurrentTwinsOfOneTraceSettleOnce() async throws {
        let engine = try await TestEngine.start()
        let replies = try await withThrowingTaskGroup(of: ReplyLine.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    try await engine.withTerminal("P001-01") { c in
                        try await c.request("SETTLE t1 trace=TWIN card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*1@1000")
                    }
                }
            }
            var all: [ReplyLine] = []
            for try await reply in group { all.append(reply) }
            return all
        }
        #expect(replies.allSatisfy { $0.ok })
        #expect(Set(replies.compactMap { $0.value("settlement") }).count == 1)
        #expect(replies.filter { $0.value("repeat") == "1" }.count == 9)
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 1)
        #expect(try engine.scalar("SELECT balance FROM person WHERE id_no = '110105198001010016'") == 49_000)
        await engine.stop()
    }

    /// Many settlements for one person from many connections: no lost update, and once the
    /// account runs dry the rest is paid in cash, never below 0.
    @Test func concurrentSettlementsForOnePersonAreExact() async throws {
        let engine = try await TestEngine.start(poolSize: 8)
        let (idNo, card) = try await engine.newCardholder(credit: 12_500)
        let replies = try await withThrowingTaskGroup(of: [ReplyLine].self) { group in
            for connection in 0..<8 {
                group.addTask {
                    try await engine.withTerminal(connection % 2 == 0 ? "P001-01" : "P002-01") { c in
                        var replies: [ReplyLine] = []
                        for i in 0..<5 {
                            replies.append(try await c.request(
                                "SETTLE t\(i) trace=C\(connection)-\(i) card=\(card) pin=470291 items=A002*1@1000"))
                        }
                        return replies
                    }
                }
            }
            var all: [ReplyLine] = []
            for try await batch in group { all += batch }
            return all
        }
        #expect(replies.count == 40 && replies.allSatisfy { $0.ok })
        let accountPaid = replies.reduce(0) { $0 + Int($1.value("account")!)! }
        let cashPaid = replies.reduce(0) { $0 + Int($1.value("cash")!)! }
        #expect(accountPaid == 12_500)
        #expect(cashPaid == 40_000 - 12_500)
        #expect(try engine.scalar("SELECT balance FROM person WHERE id_no = $1", [idNo]) == 0)
        #expect(try engine.scalar("SELECT sum(account) FROM settlement") == 12_500)
        await engine.stop()
    }

    /// Outpatient at a level-3 hospital (employee: deductible 20000 a year, fund 50 %).
    @Test func deductibleCrossesAcrossClaims() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 100_000)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            // 5 × 2000 = 10000 in scope, all of it deductible.
            let first = try await c.request("SETTLE t1 trace=O1 card=\(card) pin=470291 items=S004*5@2000")
            #expect(first.splitText == "total=10000 selfpay_full=0 selfpay_first=0 inscope=10000 deductible=10000 fund=0 account=10000 cash=0")
            // 15000 in scope: 10000 finishes the deductible, the fund pays half of the other 5000.
            let price = try await c.request("PRICE t2 card=\(card) pin=470291 visit=outpatient items=S004*7.5@2000")
            #expect(price.splitText == "total=15000 selfpay_full=0 selfpay_first=0 inscope=15000 deductible=10000 fund=2500 account=12500 cash=0")
            let second = try await c.request("SETTLE t3 trace=O2 card=\(card) pin=470291 items=S004*7.5@2000")
            #expect(second.splitText == price.splitText && second.value("balance") == "77500")
            // Deductible met: the next claim is half fund. use_account=0 pays the rest in cash.
            let third = try await c.request("SETTLE t4 trace=O3 card=\(card) pin=470291 items=S004*1@2000 use_account=0")
            #expect(third.splitText == "total=2000 selfpay_full=0 selfpay_first=0 inscope=2000 deductible=0 fund=1000 account=0 cash=1000")
            let pharmacyVisit = try await c.code("SETTLE t5 trace=O4 card=\(card) pin=470291 items=S004*1@2000 visit=pharmacy")
            #expect(pharmacyVisit == .badRequest)
        }
        let met = try engine.scalar("SELECT deductible_met FROM accumulator a JOIN card c ON c.person_id = a.person_id WHERE c.card_no = $1 AND visit = 'outpatient'", [card])
        #expect(met == 20_000)
        await engine.stop()
    }

    @Test func residentHasNoAccountAndCannotBeCredited() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P002-01") { (c: MSLPConnection) async throws -> Void in
            let settled = try await c.request("SETTLE t1 trace=RS1 card=\(Demo.residentCard) pin=\(Demo.residentPIN) items=A003*1@2000;C002*1@500")
            #expect(settled.splitText == "total=2500 selfpay_full=500 selfpay_first=0 inscope=2000 deductible=0 fund=0 account=0 cash=2500")
            #expect(settled.value("balance") == "0")
        }
        try await engine.withTerminal("G001-01") { (c: MSLPConnection) async throws -> Void in
            let credit = try await c.code("CREDIT t1 trace=RC1 id_no=110105200009090030 amount=100")
            #expect(credit == .noAccount)
        }
        await engine.stop()
    }

    @Test func queryReportsUnknownAndSettled() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("QUERY t1 trace=NEVER").value("state") == "unknown")
            let settled = try await c.request("SETTLE t2 trace=Q1 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*1@1000")
            let query = try await c.request("QUERY t3 trace=Q1")
            #expect(query.value("state") == "settled" && query.value("settlement") == settled.value("settlement"))
            #expect(query.splitText == settled.splitText)
        }
        // QUERY is per terminal: another terminal does not see P001-01's trace.
        try await engine.withTerminal("P001-02") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("QUERY t1 trace=Q1").value("state") == "unknown")
        }
        await engine.stop()
    }
}
