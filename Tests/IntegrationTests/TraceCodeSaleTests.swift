import MSLP
import MSLPChannel
import MedsettleCore
@testable import MedsettleStore
import PGClient
import Testing

/// Drug traceability codes over TCP (RULES.md §10, PROTOCOL.md revision 1.1): A006 (class A,
/// limit 2000) and B005 are traced in the demo catalog; A001 is not.
@Suite(.timeLimit(.minutes(3)))
struct TraceCodeSaleTests {
    static let c1 = "81234567890123456789", c2 = "81234567890123456790", c3 = "81234567890123456791"
    static let c4 = "00000000000000000004"
    static let employee = "card=\(Demo.employeeCard) pin=\(Demo.employeePIN)"

    func wrongCount(_ engine: TestEngine, _ card: String) throws -> Int64? {
        try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [card])
    }

    func balance(_ engine: TestEngine, _ card: String) throws -> Int64? {
        try engine.scalar("SELECT balance FROM person p JOIN card c ON c.person_id = p.id WHERE c.card_no = $1", [card])
    }

    func standing(_ engine: TestEngine) throws -> Int64? {
        try engine.scalar("SELECT count(*) FROM trace_code WHERE released_at IS NULL")
    }

    /// Every BAD_REQUEST of §10, for SETTLE and PRICE alike; nothing is presented, counted or written.
    @Test(arguments: [
        "A006*2@1800",                                              // missing codes
        "A006*2@1800#\(c1)",                                        // a wrong count: too few
        "A006*1@1800#\(c1),\(c2)",                                  // a wrong count: too many
        "A006*1@1800#8123456789012345678",                          // 19 digits
        "A006*1@1800#812345678901234567890",                        // 21 digits
        "A006*1@1800#8123456789012345678X",                         // not digits
        "A006*1@1800#",                                             // '#' and no code
        "A006*0.5@1800",                                            // a fractional traced quantity
        "A006*1.5@1800#\(c1)",                                      // fractional, with a code
        "A006*2.0@1800#\(c1),\(c2)",                                // 2.0, not 2
        "A001*1@1000#\(c1)",                                        // codes on an untraced item
        "A006*2@1800#\(c1),\(c1)",                                  // one code twice on a line
        "A006*1@1800#\(c1);B005*1@4500#\(c1)",                      // one code twice in the request
        "A001*1@1000;A006*1@1800",                                  // a later line without its codes
    ])
    func badRequests(_ items: String) async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            // A wrong PIN is not counted: bad lines are refused before the card is presented.
            #expect(try await c.code("SETTLE t trace=B1 card=\(Demo.employeeCard) pin=000000 items=\(items)") == .badRequest)
            #expect(try await c.code("SETTLE t trace=B2 \(Self.employee) items=\(items)") == .badRequest)
            #expect(try await c.code("PRICE t \(Self.employee) items=\(items)") == .badRequest)
            // The traces stay free.
            #expect(try await c.request("QUERY t trace=B1").value("state") == "unknown")
        }
        #expect(try wrongCount(engine, Demo.employeeCard) == 0)
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 0)
        #expect(try engine.scalar("SELECT count(*) FROM trace_code") == 0)
        await engine.stop()
    }

    @Test func aTracedSaleAndItsCodesSoldOnce() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            // 2 × 1800 of A006 (class A, within its limit): the account pays it all.
            let sold = try await c.request("SETTLE t trace=S1 \(Self.employee) items=A006*2@1800#\(Self.c1),\(Self.c2);A001*1@1000")
            #expect(sold.ok && sold.value("total") == "4600" && sold.value("account") == "4600" && sold.value("balance") == "45400")
            // A repeat answers its first result, not TRACE_CODE_USED.
            let repeated = try await c.request("SETTLE t trace=S1 \(Self.employee) items=A006*2@1800#\(Self.c1),\(Self.c2);A001*1@1000")
            #expect(repeated.ok && repeated.value("repeat") == "1" && repeated.value("settlement") == sold.value("settlement"))
            // code= names the first sold code in request order (c2 here, before c1).
            let reused = try await c.request("SETTLE t trace=S2 \(Self.employee) items=B005*1@4500#\(Self.c3);A006*2@1800#\(Self.c2),\(Self.c1)")
            #expect(reused.errorCode == .traceCodeUsed && reused.value("code") == Self.c2)
            // The fresh code of the refused claim was not bound: it sells.
            #expect(try await c.request("SETTLE t trace=S3 \(Self.employee) items=B005*1@4500#\(Self.c3)").ok)
        }
        #expect(try standing(engine) == 3)
        #expect(try balance(engine, Demo.employeeCard) == 45_400 - 4_500) // B005: the account pays its first self-paid part too
        await engine.stop()
    }

    /// §10's order: line syntax and kind; trace lookup; items and codes as the catalog requires;
    /// the card; codes already sold; pricing.
    @Test func theOrderOfChecks() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("SETTLE t trace=O1 \(Self.employee) items=A006*1@1800#\(Self.c1)").ok)
            // A wrong PIN with a sold code: the PIN is counted and answered.
            let wrongPIN = try await c.request("SETTLE t trace=O2 card=\(Demo.employeeCard) pin=000000 items=A006*1@1800#\(Self.c1)")
            #expect(wrongPIN.errorCode == .pinWrong && wrongPIN.value("left") == "5")
            #expect(try wrongCount(engine, Demo.employeeCard) == 1)
            // A right PIN with a sold code: TRACE_CODE_USED (and the right PIN clears the count, as before).
            #expect(try await c.code("SETTLE t trace=O3 \(Self.employee) items=A006*1@1800#\(Self.c1)") == .traceCodeUsed)
            #expect(try wrongCount(engine, Demo.employeeCard) == 0)
            // The trace lookup comes before the catalog's checks: a used trace with other content
            // (here missing codes) is TRACE_REUSED ...
            #expect(try await c.code("SETTLE t trace=O1 \(Self.employee) items=A006*1@1800") == .traceReused)
            // ... but after the line syntax: a bad code is BAD_REQUEST even under a used trace.
            #expect(try await c.code("SETTLE t trace=O1 \(Self.employee) items=A006*1@1800#123") == .badRequest)
            // A fractional traced quantity is refused before the card: the wrong PIN is not counted.
            #expect(try await c.code("SETTLE t trace=O4 card=\(Demo.employeeCard) pin=000000 items=A006*0.5@1800") == .badRequest)
            #expect(try wrongCount(engine, Demo.employeeCard) == 0)
            // Lines in request order, each item before its codes.
            let unknownFirst = try await c.request("SETTLE t trace=O5 \(Self.employee) items=Z999*1@100;A006*1@1800")
            #expect(unknownFirst.errorCode == .unknownItem && unknownFirst.value("item") == "Z999")
            #expect(try await c.code("SETTLE t trace=O6 \(Self.employee) items=A006*1@1800;Z999*1@100") == .badRequest)
        }
        // A sold code presented with a card that is not there answers for the card.
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.code("SETTLE t trace=O7 card=H99999999 pin=123456 items=A006*1@1800#\(Self.c1)") == .cardNotFound)
        }
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 1)
        await engine.stop()
    }

    @Test func priceChecksSoldCodesAndBindsNothing() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let quote = try await c.request("PRICE t \(Self.employee) items=A006*1@1800#\(Self.c1)")
            #expect(quote.ok && quote.value("total") == "1800")
            #expect(try standing(engine) == 0)
            #expect(try await c.request("SETTLE t trace=P1 \(Self.employee) items=A006*1@1800#\(Self.c1)").ok)
            let used = try await c.request("PRICE t \(Self.employee) items=A006*1@1800#\(Self.c4);A006*1@1800#\(Self.c1)")
            #expect(used.errorCode == .traceCodeUsed && used.value("code") == Self.c1)
            // A repeated quote stays a quote (PRICE never carries repeat).
            let again = try await c.request("PRICE t \(Self.employee) items=A006*1@1800#\(Self.c4)")
            #expect(again.ok && again.value("repeat") == nil)
        }
        #expect(try standing(engine) == 1)
        await engine.stop()
    }

    @Test func cancelAndReversalReleaseTheCodes() async throws {
        let engine = try await TestEngine.start()
        let (_, other) = try await engine.newCardholder(credit: 10_000)
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let first = try await c.request("SETTLE t trace=R1 \(Self.employee) items=A006*2@1800#\(Self.c1),\(Self.c2)")
            let settlement = try #require(first.value("settlement"))
            #expect(try await c.code("SETTLE t trace=R2 card=\(other) pin=470291 items=A006*1@1800#\(Self.c2)") == .traceCodeUsed)
            #expect(try await c.request("CANCEL t trace=R1C settlement=\(settlement)").ok)
            #expect(try standing(engine) == 0)
            // Released: another person buys one of them; the other is sold with a third code.
            #expect(try await c.request("SETTLE t trace=R3 card=\(other) pin=470291 items=A006*1@1800#\(Self.c2)").ok)
            #expect(try await c.request("SETTLE t trace=R4 \(Self.employee) items=A006*2@1800#\(Self.c1),\(Self.c3)").ok)
            // Reversal releases too.
            #expect(try await c.request("REVERSE t trace=R4").value("state") == "undone")
            #expect(try await c.request("SETTLE t trace=R5 card=\(other) pin=470291 items=A006*1@1800#\(Self.c3)").ok)
            // The original's repeat still answers its first result, after its codes were sold again.
            let repeated = try await c.request("SETTLE t trace=R1 \(Self.employee) items=A006*2@1800#\(Self.c1),\(Self.c2)")
            #expect(repeated.ok && repeated.value("repeat") == "1")
            // A cancel repeated does not release anything else.
            #expect(try await c.request("CANCEL t trace=R1C settlement=\(settlement)").value("repeat") == "1")
        }
        // History stays: the cancelled and reversed sales keep their rows, released.
        #expect(try engine.scalar("SELECT count(*) FROM trace_code") == 6)
        #expect(try standing(engine) == 2)
        #expect(try engine.scalar("""
            SELECT count(*) FROM trace_code t JOIN settlement s ON s.id = t.settlement_id
            WHERE (t.released_at IS NULL) <> (s.state = 'settled')
            """) == 0)
        await engine.stop()
    }

    @Test func feeLinesCarryNoCodes() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 10_000)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            let admission = try #require(try await c.request("ADMIT t trace=A1 card=\(card) pin=470291").value("admission"))
            #expect(try await c.code("FEES t trace=F1 admission=\(admission) items=A006*1@1800#\(Self.c1)") == .badRequest)
            // A traced item in a fee line needs no code; the discharge prices it.
            #expect(try await c.request("FEES t trace=F2 admission=\(admission) items=A006*2@1800").ok)
            #expect(try await c.request("DISCHARGE t trace=D1 admission=\(admission) card=\(card) pin=470291").ok)
        }
        #expect(try engine.scalar("SELECT count(*) FROM trace_code") == 0)
        await engine.stop()
    }

    /// The winner rule step by step: another transaction has sold a code and not committed yet.
    /// The claim finds the code free, inserts it and waits; when the other commits, the claim's
    /// transaction meets the unique index, runs again and answers TRACE_CODE_USED; when the other
    /// rolls back, the claim settles.
    @Test func aClaimWaitsForAnUncommittedSaleOfItsCode() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 10_000)
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("SETTLE t trace=U0 \(Self.employee) items=A001*1@100").ok)
        }
        let settlement = try #require(try engine.scalar("SELECT max(id) FROM settlement"))
        let admin = try PGConnection(conninfo: engine.conninfo)
        for (attempt, commits) in [true, false].enumerated() {
            let code = "8123456789012345680\(attempt)"
            try admin.execute("""
                BEGIN; INSERT INTO trace_code (code_hi, code_lo, settlement_id) VALUES (81, \(code.dropFirst(2)), \(settlement))
                """)
            let reply = Task {
                try await engine.withTerminal("P002-01") { c in
                    try await c.request("SETTLE t trace=U\(attempt + 1) card=\(card) pin=470291 items=A006*1@1800#\(code)")
                }
            }
            // Wait (polling, up to 30 s) until the claim's insert waits on the open transaction.
            var waiting: Int64 = 0
            for _ in 0..<600 where waiting == 0 {
                try await Task.sleep(for: .milliseconds(50))
                waiting = try admin.query("""
                    SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'
                    """).requireInt64(0, 0)
            }
            #expect(waiting == 1)
            try admin.execute(commits ? "COMMIT" : "ROLLBACK")
            let answer = try await reply.value
            if commits {
                #expect(answer.errorCode == .traceCodeUsed && answer.value("code") == code)
            } else {
                #expect(answer.ok)
            }
        }
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 2)
        #expect(try standing(engine) == 2)
        await engine.stop()
    }

    /// One batch of the group commit, formed by hand: the second claim names a code the first one
    /// names, so it waits for the next round and finds it sold there; the third, whose code only the
    /// waiting claim shares, settles in the first round.
    @Test func aRoundHoldsEachCodeOnce() async throws {
        let engine = try await TestEngine.start()
        var cards: [String] = []
        for _ in 0..<3 { cards.append(try await engine.newCardholder(credit: 10_000).1) }
        func claim(_ card: String, _ codes: [String]) -> ClaimRequest {
            ClaimRequest(credential: .card(number: card, pin: "470291"),
                         lines: codes.map { ClaimLine(code: "A006", quantity: Quantity(milli: 1000), price: 1800, traceCodes: [TraceCode($0)!]) },
                         visit: .pharmacy, useAccount: true)
        }
        let answers = GroupCommitTests.batch(engine.store, [
            (claim(cards[0], [Self.c1]), "GT-1", GroupCommitTests.pharmacy),
            (claim(cards[1], [Self.c1, Self.c2]), "GT-2", GroupCommitTests.pharmacy),
            (claim(cards[2], [Self.c2]), "GT-3", GroupCommitTests.otherPharmacy),
        ])
        #expect(answers[0].settled != nil)
        #expect(answers[1].refusal == Refusal(.traceCodeUsed, "traceability code \(Self.c1) is already sold", detail: .traceCode(Self.c1)))
        #expect(answers[2].settled != nil)
        #expect(try standing(engine) == 2)
        await engine.stop()
    }

    /// Many claims (different cards) present one code at once, on two fronts of one database and
    /// several connections each, so that rounds of the group commit hold several of them: exactly
    /// one settles, every other answers TRACE_CODE_USED, never INTERNAL.
    @Test func exactlyOneWinnerAcrossFronts() async throws {
        let first = try await TestEngine.start()
        let second = try await TestEngine.start(sharing: first)
        var cards: [String] = []
        for _ in 0..<8 { cards.append(try await first.newCardholder(credit: 10_000).1) }
        let fronts = [first, second]
        for round in 0..<4 {
            let code = "9\(round)" + String(repeating: "0", count: 17) + "1"
            let replies = try await withThrowingTaskGroup(of: [ReplyLine].self) { group in
                for (i, card) in cards.enumerated() {
                    group.addTask {
                        try await fronts[i % 2].withTerminal(i % 4 < 2 ? "P001-01" : "P002-01") { c in
                            // Pipelined with an untraced sale, so the queue holds several claims at once.
                            try await c.pipeline([
                                "SETTLE a trace=W\(round)-\(i) card=\(card) pin=470291 items=A006*1@1800#\(code)",
                                "SETTLE b trace=X\(round)-\(i) card=\(card) pin=470291 items=A001*1@100",
                            ])
                        }
                    }
                }
                var all: [ReplyLine] = []
                for try await batch in group { all.append(batch[0]) }
                return all
            }
            #expect(replies.filter(\.ok).count == 1, "round \(round): \(replies)")
            #expect(replies.filter { $0.errorCode == .traceCodeUsed && $0.value("code") == code }.count == cards.count - 1)
            #expect(try first.scalar("SELECT count(*) FROM trace_code WHERE released_at IS NULL AND code_hi = $1", [Int64(90 + round)]) == 1)
        }
        #expect(try first.scalar("SELECT count(*) FROM settlement WHERE state = 'settled'") == 4 + 4 * 8)
        await second.stop()
        await first.stop()
    }
}
