import Foundation
import MSLP
import MSLPChannel
import MedsettleCore
@testable import MedsettleStore
import Testing

/// RULES.md §9 and §12 over TCP: FAMILYBIND and FAMILYUNBIND, `aid` on PRICE, SETTLE, QUERY and
/// DISCHARGE, `aid_refund` on CANCEL and REVERSE, and the payer's balance under concurrent claims.
/// The claim used: A001 ×2 at 1 250 (in scope) and C001 at 3 000 (class C, which the accounts do
/// not pay at a pharmacy): 2 500 an account may pay, 3 000 in cash.
@Suite(.timeLimit(.minutes(3)))
struct FamilyAidTests {
    static let items = "A001*2@1250;C001*1@3000"

    func balance(_ engine: TestEngine, _ idNo: String) throws -> Int64? {
        try engine.scalar("SELECT balance FROM person WHERE id_no = $1", [idNo])
    }

    @Test func theMembersClaimIsPaidFromThePayersAccountAndGivenBack() async throws {
        let engine = try await TestEngine.start()
        let (payer, _) = try await engine.newCardholder(credit: 10_000)
        let (resident, residentCard) = try await engine.newCardholder(insurance: "resident")
        let (employee, employeeCard) = try await engine.newCardholder(credit: 1_000)
        try await engine.withTerminal("W001-01") { (window: MSLPConnection) async throws -> Void in
            let bound = try await window.request("FAMILYBIND f id_no=\(payer) member=\(resident) relation=child")
            #expect(bound.ok && bound.value("payer") == payer && bound.value("member") == resident, "\(bound)")
        }
        try await engine.withTerminal("G001-01") { (agency: MSLPConnection) async throws -> Void in
            #expect(try await agency.request("FAMILYBIND f id_no=\(payer) member=\(employee) relation=spouse agent_id=\(IDNumbers.fresh())").ok)
        }
        try await engine.withTerminal("P001-01") { c in
            // PRICE shows the aid of the moment and moves nothing.
            let quote = try await c.request("PRICE p card=\(residentCard) pin=470291 items=\(Self.items)")
            #expect(quote.value("aid") == "2500" && quote.value("cash") == "3000" && quote.value("account") == "0", "\(quote)")
            #expect(try balance(engine, payer) == 10_000)

            // A resident member: the payer pays all an account may pay.
            let first = try await c.request("SETTLE s trace=FA-1 card=\(residentCard) pin=470291 items=\(Self.items)")
            #expect(first.value("aid") == "2500" && first.value("account") == "0" && first.value("cash") == "3000"
                    && first.value("balance") == "0", "\(first)")
            #expect(try balance(engine, payer) == 7_500)
            #expect(try await c.request("QUERY q trace=FA-1").value("aid") == "2500")
            // An employee member: the own account first, the payer what it lacked.
            let second = try await c.request("SETTLE s trace=FA-2 card=\(employeeCard) pin=470291 items=\(Self.items)")
            #expect(second.value("account") == "1000" && second.value("aid") == "1500" && second.value("cash") == "3000", "\(second)")
            #expect(try balance(engine, payer) == 6_000 && balance(engine, employee) == 0)
            // use_account=0: neither account pays.
            let cash = try await c.request("SETTLE s trace=FA-3 card=\(residentCard) pin=470291 items=\(Self.items) use_account=0")
            #expect(cash.value("aid") == "0" && cash.value("cash") == "5500", "\(cash)")

            // Cancel gives the aid back to the payer's account (refund stays the member's own).
            let cancelled = try await c.request("CANCEL c trace=FA-C2 settlement=\(second.value("settlement") ?? "")")
            #expect(cancelled.value("refund") == "1000" && cancelled.value("aid_refund") == "1500", "\(cancelled)")
            #expect(try balance(engine, payer) == 7_500 && balance(engine, employee) == 1_000)
            let repeated = try await c.request("CANCEL c trace=FA-C2 settlement=\(second.value("settlement") ?? "")")
            #expect(repeated.value("aid_refund") == "1500" && repeated.value("repeat") == "1", "\(repeated)")
        }
        // Unbound, the member pays cash; a settlement from before still gives its aid back.
        try await engine.withTerminal("W001-01") { (window: MSLPConnection) async throws -> Void in
            let unbound = try await window.request("FAMILYUNBIND u id_no=\(payer) member=\(resident)")
            #expect(unbound.ok && unbound.value("payer") == payer && unbound.value("member") == resident, "\(unbound)")
            #expect(try await window.code("FAMILYUNBIND u id_no=\(payer) member=\(resident)") == .notFound)
        }
        try await engine.withTerminal("P001-01") { c in
            let alone = try await c.request("SETTLE s trace=FA-4 card=\(residentCard) pin=470291 items=\(Self.items)")
            #expect(alone.value("aid") == "0" && alone.value("cash") == "5500", "\(alone)")
            #expect(try await c.request("REVERSE r trace=FA-1").value("state") == "undone")
            #expect(try balance(engine, payer) == 10_000)
        }
        await engine.stop()
    }

    /// The payer's insurance ends: every binding of theirs ends, and a refund of aid paid before
    /// is paid out to them, as their closing balance was.
    @Test func whenThePayersInsuranceEndsTheBindingsEndAndRefundsArePaidOut() async throws {
        let engine = try await TestEngine.start()
        let (payer, payerCard) = try await engine.newCardholder(credit: 10_000)
        let (member, memberCard) = try await engine.newCardholder(insurance: "resident")
        try await engine.bindFamily(payer: payer, member: member, relation: "parent")
        let settlement = try await engine.withTerminal("P001-01") { c in
            let settled = try await c.request("SETTLE s trace=FE-1 card=\(memberCard) pin=470291 items=\(Self.items)")
            #expect(settled.value("aid") == "2500", "\(settled)")
            return settled.value("settlement") ?? ""
        }
        try await engine.withTerminal("W001-01") { (window: MSLPConnection) async throws -> Void in
            let cancelled = try await window.request("CANCELCARD x card=\(payerCard) id_no=\(payer) reason=emigration")
            #expect(cancelled.value("payout") == "7500", "\(cancelled)")
            // The binding has ended: nothing to unbind, and binding again needs an open account.
            #expect(try await window.code("FAMILYUNBIND u id_no=\(payer) member=\(member)") == .notFound)
            #expect(try await window.code("FAMILYBIND f id_no=\(payer) member=\(member) relation=parent") == .noAccount)
        }
        try await engine.withTerminal("P001-01") { c in
            #expect(try await c.request("PRICE p card=\(memberCard) pin=470291 items=\(Self.items)").value("aid") == "0")
            let cancelled = try await c.request("CANCEL c trace=FE-C settlement=\(settlement)")
            #expect(cancelled.value("aid_refund") == "2500", "\(cancelled)")
        }
        #expect(try engine.scalar("SELECT payout FROM person WHERE id_no = $1", [payer]) == 10_000)
        #expect(try balance(engine, payer) == 0)
        #expect(try engine.scalar("SELECT count(*) FROM family_binding WHERE ended_by = 'insurance_ended'") == 1)
        // The member's own history says so too.
        #expect(try engine.scalar("""
            SELECT count(*) FROM card_event WHERE card_no = $1 AND event = 'family_unbound'
              AND detail = $2
            """, [memberCard, "payer=\(payer) relation=parent reason=insurance_ended"]) == 1)
        await engine.stop()
    }

    /// RULES.md §12: only the payer's end of insurance ends a binding; a member's own does not
    /// (the window unbinds it).
    @Test func aMembersEndOfInsuranceLeavesTheBinding() async throws {
        let engine = try await TestEngine.start()
        let (payer, _) = try await engine.newCardholder(credit: 10_000)
        let (member, memberCard) = try await engine.newCardholder(credit: 100)
        try await engine.withTerminal("W001-01") { (window: MSLPConnection) async throws -> Void in
            #expect(try await window.request("FAMILYBIND f id_no=\(payer) member=\(member) relation=spouse").ok)
            #expect(try await window.request("CANCELCARD x card=\(memberCard) id_no=\(member) reason=death").ok)
            #expect(try await window.request("FAMILYUNBIND u id_no=\(payer) member=\(member)").ok)
        }
        #expect(try engine.scalar("SELECT count(*) FROM family_binding WHERE ended_by = 'insurance_ended'") == 0)
        await engine.stop()
    }

    /// RULES.md §12 "FAMILYBIND precedence", the 10-member limit, kinds, and aid that never chains.
    @Test func bindingsRefuseInTheRulesOrder() async throws {
        let engine = try await TestEngine.start()
        let (payer, _) = try await engine.newCardholder(credit: 10_000)
        let (other, _) = try await engine.newCardholder(credit: 10_000)
        let (resident, residentCard) = try await engine.newCardholder(insurance: "resident")
        let stranger = IDNumbers.fresh()
        var members: [String] = []
        try await engine.withTerminal("G001-01") { (agency: MSLPConnection) async throws -> Void in
            for _ in 0..<10 {
                let idNo = IDNumbers.fresh()
                #expect(try await agency.request("ENROLL e id_no=\(idNo) name=Member insurance=resident").ok)
                members.append(idNo)
            }
        }
        try await engine.withTerminal("W001-01") { (w: MSLPConnection) async throws -> Void in
            #expect(try await w.code("FAMILYBIND f id_no=11010519900101000 member=\(resident) relation=child") == .badIdNo)
            #expect(try await w.code("FAMILYBIND f id_no=\(payer) member=12345 relation=child") == .badIdNo)
            #expect(try await w.code("FAMILYBIND f id_no=\(payer) member=\(payer) relation=child") == .badRequest)
            #expect(try await w.code("FAMILYBIND f id_no=\(payer) member=\(resident) relation=cousin") == .badRequest)
            #expect(try await w.code("FAMILYBIND f id_no=\(payer) member=\(resident)") == .badRequest)
            #expect(try await w.code("FAMILYBIND f id_no=\(stranger) member=\(resident) relation=child") == .personNotFound)
            #expect(try await w.code("FAMILYBIND f id_no=\(payer) member=\(stranger) relation=child") == .personNotFound)
            #expect(try await w.code("FAMILYBIND f id_no=\(resident) member=\(payer) relation=parent") == .noAccount)
            #expect(try await w.code("FAMILYUNBIND u id_no=\(payer) member=\(resident)") == .notFound)
            #expect(try await w.code("FAMILYUNBIND u id_no=\(payer) member=\(stranger)") == .personNotFound)

            // Ten members, the same pair again (a new relation replaces the old), then no eleventh.
            for member in members { #expect(try await w.request("FAMILYBIND f id_no=\(payer) member=\(member) relation=child").ok) }
            #expect(try await w.request("FAMILYBIND f id_no=\(payer) member=\(members[0]) relation=spouse").ok)
            #expect(try await w.code("FAMILYBIND f id_no=\(payer) member=\(resident) relation=child") == .badState)
            // A member has one payer.
            #expect(try await w.code("FAMILYBIND f id_no=\(other) member=\(members[0]) relation=child") == .badState)
            // Aid never chains: `other` pays for `resident`'s claims only from its own account,
            // even when `other` is itself a member of a payer.
            #expect(try await w.request("FAMILYUNBIND u id_no=\(payer) member=\(members[9])").ok)
            #expect(try await w.request("FAMILYBIND f id_no=\(payer) member=\(other) relation=parent").ok)
            #expect(try await w.request("FAMILYBIND f id_no=\(other) member=\(resident) relation=child").ok)
        }
        #expect(try engine.scalar("SELECT count(*) FROM family_binding WHERE relation = 'spouse' AND ended_at IS NULL") == 1)
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.code("FAMILYBIND f id_no=\(payer) member=\(resident) relation=child") == .forbidden)
            let settled = try await c.request("SETTLE s trace=FR-1 card=\(residentCard) pin=470291 items=\(Self.items)")
            #expect(settled.value("aid") == "2500", "\(settled)")
        }
        #expect(try balance(engine, other) == 7_500)
        #expect(try balance(engine, payer) == 10_000)
        // Both persons' histories record the changes.
        #expect(try engine.scalar("SELECT count(*) FROM card_event WHERE event = 'family_bound' AND person_id = (SELECT id FROM person WHERE id_no = $1)",
                                  [payer]) == 12)
        await engine.stop()
    }

    /// A discharge pays aid too, and PRICE of the admission shows it.
    @Test func aDischargeIsPaidForToo() async throws {
        let engine = try await TestEngine.start()
        let (payer, _) = try await engine.newCardholder(credit: 1_000_000)
        let (member, memberCard) = try await engine.newCardholder(insurance: "resident")
        try await engine.bindFamily(payer: payer, member: member, relation: "spouse")
        try await engine.withTerminal("H003-01") { c in
            let admitted = try await c.request("ADMIT a trace=FD-A card=\(memberCard) pin=470291")
            let admission = admitted.value("admission") ?? ""
            #expect(try await c.request("FEES f trace=FD-F admission=\(admission) items=S004*10@2000;C001*1@3000").ok)
            let quote = try await c.request("PRICE p admission=\(admission)")
            let discharged = try await c.request("DISCHARGE d trace=FD-D admission=\(admission) card=\(memberCard) pin=470291")
            let aid = Int64(discharged.value("aid") ?? "") ?? 0
            #expect(aid > 0 && quote.value("aid") == discharged.value("aid"), "\(quote) \(discharged)")
            #expect(try balance(engine, payer) == 1_000_000 - aid)
            let cancelled = try await c.request("CANCEL c trace=FD-C settlement=\(discharged.value("settlement") ?? "")")
            #expect(cancelled.value("aid_refund") == discharged.value("aid"), "\(cancelled)")
        }
        #expect(try balance(engine, payer) == 1_000_000)
        await engine.stop()
    }

    /// The payer and members settle in one round: each balance is moved once per round (a claim
    /// whose payer is already in the round waits for the next), and each answer is the one it
    /// would get alone, in queue order.
    @Test func aRoundMovesEachBalanceOnce() async throws {
        let engine = try await TestEngine.start()
        let (payer, payerCard) = try await engine.newCardholder(credit: 3_000)
        var members: [(String, String)] = []
        for _ in 0..<3 { members.append(try await engine.newCardholder(insurance: "resident")) }
        try await engine.withTerminal("W001-01") { (window: MSLPConnection) async throws -> Void in
            for member in members { #expect(try await window.request("FAMILYBIND f id_no=\(payer) member=\(member.0) relation=child").ok) }
        }
        let claims = ([payerCard] + members.map(\.1)).enumerated().map { index, card in
            (GroupCommitTests.claim(card: card, amount: 1_200), "FG-\(index)", GroupCommitTests.pharmacy)
        }
        let answers = GroupCommitTests.batch(engine.store, claims)
        // The payer's own 1 200, then the members' 1 200 and 600 of what is left, then nothing.
        #expect(answers.map { $0.settled.map { $0.split.account + $0.split.aid } } == [1_200, 1_200, 600, 0])
        #expect(try balance(engine, payer) == 0)
        await engine.stop()
    }

    /// A member's claim that waits for its payer's round never overtakes the payer's own later
    /// claim: the claims that wait go on in queue order.
    @Test func aWaitingMemberKeepsItsPlaceInTheQueue() async throws {
        let engine = try await TestEngine.start()
        let (payer, payerCard) = try await engine.newCardholder(credit: 3_000)
        let (member, memberCard) = try await engine.newCardholder(insurance: "resident")
        try await engine.bindFamily(payer: payer, member: member, relation: "child")
        let claims = [payerCard, payerCard, memberCard].enumerated().map { index, card in
            (GroupCommitTests.claim(card: card, amount: 1_200), "FQ-\(index)", GroupCommitTests.pharmacy)
        }
        let answers = GroupCommitTests.batch(engine.store, claims)
        // The payer's two claims first (1 200 each), then the member's: 600 is left.
        #expect(answers.map { $0.settled.map { $0.split.account + $0.split.aid } } == [1_200, 1_200, 600])
        #expect(try balance(engine, payer) == 0)
        await engine.stop()
    }

    /// However many members and the payer settle at once, from several terminals, the payer's
    /// balance never goes below 0 and moves by exactly what the answers say.
    @Test func concurrentClaimsNeverOverdrawThePayer() async throws {
        let engine = try await TestEngine.start()
        let (payer, payerCard) = try await engine.newCardholder(credit: 20_000)
        var members: [(String, String)] = []
        for index in 0..<5 { members.append(try await engine.newCardholder(insurance: index % 2 == 0 ? "resident" : "employee", credit: index % 2 == 0 ? 0 : 500)) }
        try await engine.withTerminal("W001-01") { (window: MSLPConnection) async throws -> Void in
            for member in members { #expect(try await window.request("FAMILYBIND f id_no=\(payer) member=\(member.0) relation=child").ok) }
        }
        let cards = [payerCard] + members.map(\.1)
        let terminals = ["P001-01", "P001-02", "P002-01", "H001-01", "H001-02", "H002-01"]
        let moved = try await withThrowingTaskGroup(of: (payer: Int64, codes: [String]).self) { group in
            for (index, card) in cards.enumerated() {
                group.addTask {
                    try await engine.withTerminal(terminals[index]) { c in
                        var fromPayer: Int64 = 0
                        var codes: [String] = []
                        for round in 0..<8 {
                            let reply = try await c.request("SETTLE s trace=FC-\(index)-\(round) card=\(card) pin=470291 items=A002*1@1200")
                            codes.append(reply.ok ? "OK" : reply.errorCode?.rawValue ?? "?")
                            fromPayer += Int64(reply.value("aid") ?? "0") ?? 0
                            if index == 0 { fromPayer += Int64(reply.value("account") ?? "0") ?? 0 }
                        }
                        return (fromPayer, codes)
                    }
                }
            }
            var total: Int64 = 0
            for try await result in group {
                #expect(result.codes.allSatisfy { $0 == "OK" }, "\(result.codes)")
                total += result.payer
            }
            return total
        }
        let left = try #require(try balance(engine, payer))
        // The claims asked for more than the payer held (each takes what is left, up to its need).
        #expect(left == 0 && moved == 20_000)
        let recorded = try engine.scalar("""
            SELECT (SELECT coalesce(sum(aid), 0) FROM settlement WHERE aid_payer = p.id)
                 + (SELECT coalesce(sum(account), 0) FROM settlement WHERE person_id = p.id)
            FROM person p WHERE p.id_no = $1
            """, [payer])
        #expect(recorded == moved)
        await engine.stop()
    }
}
