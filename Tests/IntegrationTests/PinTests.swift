import MSLP
import MSLPChannel
import MedsettleCore
import Testing

/// RULES.md §2 PIN rules over the wire: initial PIN, weak PINs, the wrong-PIN count and lockout.
@Suite(.timeLimit(.minutes(2)))
struct PinTests {
    @Test func pendingCardAcceptsOnlyAPinChange() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 10_000, activate: false)
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let info = try await c.code("CARDINFO t1 card=\(card) pin=123456")
            #expect(info == .pinChangeRequired)
            let settle = try await c.code("SETTLE t2 trace=X1 card=\(card) pin=123456 items=A001*1@1000")
            #expect(settle == .pinChangeRequired)
            // A wrong PIN on a PENDING card counts as a wrong PIN.
            let wrong = try await c.request("CARDINFO t3 card=\(card) pin=999999")
            #expect(wrong.errorCode == .pinWrong && wrong.value("left") == "5")
        }
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 0)
        await engine.stop()
    }

    @Test(arguments: ["123456", "111111", "012345", "456789", "987654", "543210"])
    func weakPinsAreRefused(newPIN: String) async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(activate: false)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            let weak = try await c.code("PINCHANGE t1 card=\(card) pin=123456 new=\(newPIN)")
            #expect(weak == .pinWeak)
            let status = try engine.scalar("SELECT count(*) FROM card WHERE card_no = $1 AND status = 'PENDING'", [card])
            #expect(status == 1)
        }
        await engine.stop()
    }

    @Test func newPinEqualToOldIsWeakAndMalformedIsBadRequest() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("W001-01") { (c: MSLPConnection) async throws -> Void in
            let same = try await c.code("PINCHANGE t1 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) new=\(Demo.employeePIN)")
            #expect(same == .pinWeak)
            let short = try await c.code("PINCHANGE t2 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) new=12345")
            #expect(short == .badRequest)
            let changed = try await c.request("PINCHANGE t3 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) new=864209")
            #expect(changed.ok && changed.value("status") == "ACTIVE")
            let old = try await c.request("CARDINFO t4 card=\(Demo.employeeCard) pin=\(Demo.employeePIN)")
            #expect(old.errorCode == .pinWrong)
            #expect(try await c.request("CARDINFO t5 card=\(Demo.employeeCard) pin=864209").ok)
        }
        await engine.stop()
    }

    @Test func fiveWrongThenLockedAndRightPinResetsTheCount() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            for left in [5, 4, 3] {
                let r = try await c.request("CARDINFO t card=\(Demo.retireeCard) pin=000000")
                #expect(r.errorCode == .pinWrong && r.value("left") == String(left))
            }
            #expect(try await c.request("CARDINFO t card=\(Demo.retireeCard) pin=\(Demo.retireePIN)").ok)
            for left in [5, 4, 3, 2, 1] {
                let r = try await c.request("CARDINFO t card=\(Demo.retireeCard) pin=000000")
                #expect(r.errorCode == .pinWrong && r.value("left") == String(left))
            }
            let sixth = try await c.code("CARDINFO t card=\(Demo.retireeCard) pin=000000")
            #expect(sixth == .cardLocked)
            let right = try await c.code("CARDINFO t card=\(Demo.retireeCard) pin=\(Demo.retireePIN)")
            #expect(right == .cardLocked)
            // A wrong old PIN in a PIN change counts too, and a locked card cannot change its PIN.
            let change = try await c.code("PINCHANGE t card=\(Demo.retireeCard) pin=\(Demo.retireePIN) new=864209")
            #expect(change == .cardLocked)
        }
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [Demo.retireeCard]) == 6)
        #expect(try engine.scalar("SELECT count(*) FROM card_event WHERE card_no = $1 AND event = 'locked'", [Demo.retireeCard]) == 1)
        #expect(try engine.scalar("SELECT count(*) FROM card_event WHERE card_no = $1 AND event = 'pin_failed'", [Demo.retireeCard]) == 9)
        await engine.stop()
    }

    /// 32 wrong PINs at once on 32 connections: exactly 5 PIN_WRONG (left=5…1 once each), then
    /// CARD_LOCKED for every other one; the stored count is 6, never 7.
    @Test func concurrentWrongPinsCountExactly() async throws {
        let engine = try await TestEngine.start(poolSize: 8)
        let replies = try await withThrowingTaskGroup(of: ReplyLine.self) { group in
            for i in 0..<32 {
                group.addTask {
                    try await engine.withTerminal(i % 2 == 0 ? "P001-01" : "H001-01") { c in
                        try await c.request("SETTLE t1 trace=WRONG\(i) card=\(Demo.employeeCard) pin=000000 items=A001*1@1000")
                    }
                }
            }
            var all: [ReplyLine] = []
            for try await reply in group { all.append(reply) }
            return all
        }
        let wrong = replies.filter { $0.errorCode == .pinWrong }
        let locked = replies.filter { $0.errorCode == .cardLocked }
        #expect(wrong.count == 5)
        #expect(locked.count == 27)
        #expect(Set(wrong.compactMap { $0.value("left") }) == ["1", "2", "3", "4", "5"])
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [Demo.employeeCard]) == 6)
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 0)
        #expect(try engine.scalar("SELECT count(*) FROM trace WHERE trace LIKE 'WRONG%'") == 0)
        await engine.stop()
    }

    @Test func pinsNeverStoredOrLoggedInTheClear() async throws {
        let engine = try await TestEngine.start()
        _ = try await engine.newCardholder(pin: "583920")
        let plain = try engine.scalar("""
            SELECT count(*) FROM card WHERE encode(pin_hash, 'escape') LIKE '%583920%' OR encode(pin_salt, 'escape') LIKE '%583920%'
            """)
        #expect(plain == 0)
        let logged = try engine.scalar("SELECT count(*) FROM card_event WHERE coalesce(detail, '') LIKE '%583920%'")
        #expect(logged == 0)
        await engine.stop()
    }
}
