import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleStore
import PGClient
import Testing

/// The card services over TCP, each channel with its own verbs (RULES.md §2, §6).
@Suite(.timeLimit(.minutes(2)))
struct CardLifecycleTests {
    /// The issue's story: issued, activated, locked, unlocked, lost and found, lost again,
    /// replaced, paid with by QR once, cancelled — and the event log tells all of it.
    @Test func aCardsWholeLife() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 40_000)
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            for _ in 0..<5 { _ = try await c.request("CARDINFO t card=\(card) pin=000000") }
            let locked = try await c.code("CARDINFO t card=\(card) pin=000000")
            #expect(locked == .cardLocked)
            let forbidden = try await c.code("UNLOCK t card=\(card) id_no=\(idNo)")
            #expect(forbidden == .forbidden)
        }
        let agent = IDNumbers.fresh()
        try await engine.withTerminal("W001-01") { (c: MSLPConnection) async throws -> Void in
            let unlocked = try await c.request("UNLOCK t card=\(card) id_no=\(idNo) agent_id=\(agent)")
            #expect(unlocked.ok && unlocked.value("status") == "ACTIVE")
            let again = try await c.code("UNLOCK t card=\(card) id_no=\(idNo)")
            #expect(again == .badState)
        }
        try await engine.withTerminal("L001-01") { (c: MSLPConnection) async throws -> Void in
            let lost = try await c.request("REPORTLOST t card=\(card) id_no=\(idNo)")
            #expect(lost.ok && lost.value("status") == "LOST")
            let release = try await c.code("UNLOST t card=\(card) id_no=\(idNo)")
            #expect(release == .forbidden)
        }
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let info = try await c.code("CARDINFO t card=\(card) pin=470291")
            #expect(info == .cardLost)
        }
        try await engine.withTerminal("W001-01") { (c: MSLPConnection) async throws -> Void in
            let released = try await c.request("UNLOST t card=\(card) id_no=\(idNo)")
            #expect(released.ok && released.value("status") == "ACTIVE")
        }
        let newCard = try await engine.withTerminal("O001-01") { (c: MSLPConnection) async throws -> String in
            #expect(try await c.request("REPORTLOST t card=\(card) id_no=\(idNo)").ok)
            let replaced = try await c.request("REPLACE t card=\(card) id_no=\(idNo) reason=lost")
            #expect(replaced.ok && replaced.value("status") == "PENDING")
            return try #require(replaced.value("card"))
        }
        #expect(newCard != card)
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let old = try await c.code("CARDINFO t card=\(card) pin=470291")
            #expect(old == .cardReplaced)
            #expect(try await c.request("PINCHANGE t card=\(newCard) pin=123456 new=470291").ok)
            let info = try await c.request("CARDINFO t card=\(newCard) pin=470291")
            #expect(info.value("balance") == "40000" && info.value("person") == idNo)
        }
        let qr = try await engine.withTerminal("O001-01") { (c: MSLPConnection) async throws -> String in
            let stale = try await c.code("QRCODE t card=\(card)")
            #expect(stale == .cardReplaced)
            let issued = try await c.request("QRCODE t card=\(newCard)")
            #expect(issued.value("expires") == String(TestEngine.defaultNow + 60))
            return try #require(issued.value("qr"))
        }
        try await engine.withTerminal("P002-01") { (c: MSLPConnection) async throws -> Void in
            let paid = try await c.request("SETTLE t trace=QR1 qr=\(qr) items=A001*2@1250")
            #expect(paid.ok && paid.value("account") == "2500" && paid.value("balance") == "37500")
            let reused = try await c.code("SETTLE t trace=QR2 qr=\(qr) items=A001*2@1250")
            #expect(reused == .qrUsed)
        }
        try await engine.withTerminal("W001-01") { (c: MSLPConnection) async throws -> Void in
            let cancelled = try await c.request("CANCELCARD t card=\(newCard) id_no=\(idNo) reason=emigration")
            #expect(cancelled.ok && cancelled.value("status") == "CANCELLED" && cancelled.value("payout") == "37500")
            let issue = try await c.code("ISSUE t id_no=\(idNo)")
            #expect(issue == .badState)
            let replace = try await c.code("REPLACE t card=\(newCard) id_no=\(idNo) reason=damaged")
            #expect(replace == .cardCancelled)
        }
        try await engine.withTerminal("G001-01") { (c: MSLPConnection) async throws -> Void in
            let credit = try await c.code("CREDIT t trace=AFTER id_no=\(idNo) amount=100")
            #expect(credit == .noAccount)
            let enrol = try await c.code("ENROLL t id_no=\(idNo) name=x insurance=employee")
            #expect(enrol == .personExists)
        }
        let history = try engine.pool.withConnection { try CardHistory.load($0, cardNo: card) }
        let story = try #require(history).map(\.event)
        #expect(story == ["issued", "pin_changed", "pin_failed", "pin_failed", "pin_failed", "pin_failed", "pin_failed",
                          "pin_failed", "locked", "unlock", "report_lost", "release_loss", "report_lost", "issued",
                          "replace", "pin_changed", "qr_issued", "qr_paid", "cancel"])
        #expect(try #require(history).first { $0.event == "unlock" }?.agent == agent)
        #expect(try engine.scalar("SELECT payout FROM person WHERE id_no = $1", [idNo]) == 37_500)
        await engine.stop()
    }

    @Test func holderMustMatchAndStatesMustFit() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder()
        let (otherID, _) = try await engine.newCardholder()
        try await engine.withTerminal("W001-01") { (c: MSLPConnection) async throws -> Void in
            let someoneElse = try await c.code("REPORTLOST t card=\(card) id_no=\(otherID)")
            #expect(someoneElse == .cardNotFound)
            let nobody = try await c.code("REPORTLOST t card=\(card) id_no=\(IDNumbers.fresh())")
            #expect(nobody == .personNotFound)
            let noCard = try await c.code("REPORTLOST t card=Z00000001 id_no=\(idNo)")
            #expect(noCard == .cardNotFound)
            let badAgent = try await c.code("REPORTLOST t card=\(card) id_no=\(idNo) agent_id=110105198001010017")
            #expect(badAgent == .badIdNo)
            let notLost = try await c.code("UNLOST t card=\(card) id_no=\(idNo)")
            #expect(notLost == .badState)
            let badReason = try await c.code("REPLACE t card=\(card) id_no=\(idNo) reason=bored")
            #expect(badReason == .badRequest)
            #expect(try await c.request("REPORTLOST t card=\(card) id_no=\(idNo)").ok)
            let twice = try await c.code("REPORTLOST t card=\(card) id_no=\(idNo)")
            #expect(twice == .cardLost)
            let reset = try await c.code("PINRESET t card=\(card) id_no=\(idNo)")
            #expect(reset == .cardLost)
            let issue = try await c.code("ISSUE t id_no=\(idNo)")
            #expect(issue == .cardExists)
        }
        await engine.stop()
    }

    @Test func pinResetUnlocksAndRequiresAChange() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder()
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            for _ in 0..<6 { _ = try await c.request("CARDINFO t card=\(card) pin=000000") }
        }
        try await engine.withTerminal("W001-01") { (c: MSLPConnection) async throws -> Void in
            let reset = try await c.request("PINRESET t card=\(card) id_no=\(idNo)")
            #expect(reset.ok && reset.value("status") == "PENDING")
            let old = try await c.code("CARDINFO t card=\(card) pin=470291")
            #expect(old == .pinWrong)
            let initial = try await c.code("CARDINFO t card=\(card) pin=123456")
            #expect(initial == .pinChangeRequired)
            #expect(try await c.request("PINCHANGE t card=\(card) pin=123456 new=470291").ok)
        }
        await engine.stop()
    }

    @Test func personUpdateKeepsTheCardWorking() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder()
        let newID = IDNumbers.fresh()
        try await engine.withTerminal("W001-01") { (c: MSLPConnection) async throws -> Void in
            let empty = try await c.code("PERSONUPDATE t id_no=\(idNo)")
            #expect(empty == .badRequest)
            let taken = try await c.code("PERSONUPDATE t id_no=\(idNo) new_id_no=110105198001010016")
            #expect(taken == .personExists)
            let updated = try await c.request("PERSONUPDATE t id_no=\(idNo) name=新名字 new_id_no=\(newID)")
            #expect(updated.ok && updated.value("person") == newID)
            let info = try await c.request("CARDINFO t card=\(card) pin=470291")
            #expect(info.value("person") == newID && info.value("name") == "新名字")
            let old = try await c.code("UNLOCK t card=\(card) id_no=\(idNo)")
            #expect(old == .personNotFound)
        }
        await engine.stop()
    }

    /// The protocol's kind table and the rules' "who may do it" column say the same.
    @Test func cardOperationKindsMatchTheProtocol() {
        let verbs: [CardOperation: Verb] = [.issue: .issue, .unlock: .unlock, .pinReset: .pinReset, .reportLost: .reportLost,
                                            .releaseLoss: .unlost, .replace: .replace, .cancel: .cancelCard]
        for (operation, verb) in verbs {
            #expect(Set(verb.allowedKinds) == operation.allowedKinds, "\(operation)")
        }
    }
}
