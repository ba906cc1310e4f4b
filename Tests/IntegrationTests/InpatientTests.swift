import MSLP
import MSLPChannel
import MedsettleCore
import Testing

/// A hospital stay worked by hand against RULES.md §4 (H001 is level 3; employee inpatient:
/// deductible 100 000 per admission, fund 80 %, ceiling 40 000 000 a year).
@Suite(.timeLimit(.minutes(2)))
struct InpatientTests {
    @Test func admissionToDischargeCancelAndDischargeAgain() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 200_000)
        let (_, otherCard) = try await engine.newCardholder(credit: 1_000)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            let admitted = try await c.request("ADMIT t trace=ADM1 card=\(card) pin=470291 ward=心内科3病区")
            let admission = try #require(admitted.value("admission"))
            #expect(admission.hasPrefix("A"))
            let twice = try await c.code("ADMIT t trace=ADM2 card=\(card) pin=470291")
            #expect(twice == .admissionOpen)
            let repeatAdmit = try await c.request("ADMIT t trace=ADM1 card=\(card) pin=470291 ward=心内科3病区")
            #expect(repeatAdmit.value("admission") == admission && repeatAdmit.value("repeat") == "1")

            // Batch 1: 5 bed days (A, 4000 ≤ limit 4000) 20000; nursing (A) 12500; air conditioning
            // (C) 2500 fully self-paid.
            let batch1 = try await c.request("FEES t trace=F1 admission=\(admission) items=S001*5@4000;S002*5@2500;S007*5@500")
            #expect(batch1.value("lines") == "3" && batch1.value("total") == "35000")
            // Batch 2: a stent (B, 800000 over its 700000 limit: 100000 fully self-paid; 30 % of
            // 700000 = 210000 first self-paid), blood tests (A) 4000, atorvastatin (B, 10 %: 900).
            let batch2 = try await c.request("FEES t trace=F2 admission=\(admission) items=S006*1@800000;S004*2@2000;B001*3@3000")
            #expect(batch2.value("lines") == "6" && batch2.value("total") == "848000")
            let again = try await c.request("FEES t trace=F1 admission=\(admission) items=S001*5@4000;S002*5@2500;S007*5@500")
            #expect(again.value("repeat") == "1" && again.value("lines") == "3")
            let unknown = try await c.request("FEES t trace=F3 admission=\(admission) items=Q999*1@100")
            #expect(unknown.errorCode == .unknownItem)

            // total 848000; full 102500; first 210900; inscope 534600; deductible 100000;
            // fund floor(434600 × 0.8) = 347680; personal 500320; account min(500320 − 102500,
            // 200000) = 200000; cash 300320.
            let expected = "total=848000 selfpay_full=102500 selfpay_first=210900 inscope=534600 deductible=100000 fund=347680 account=200000 cash=300320"
            let priced = try await c.request("PRICE t admission=\(admission)")
            #expect(priced.splitText == expected)
            let wrongPatient = try await c.code("DISCHARGE t trace=D0 admission=\(admission) card=\(otherCard) pin=470291")
            #expect(wrongPatient == .badRequest)
            let discharged = try await c.request("DISCHARGE t trace=D1 admission=\(admission) card=\(card) pin=470291")
            #expect(discharged.splitText == expected && discharged.value("balance") == "0")
            let closed = try await c.code("FEES t trace=F4 admission=\(admission) items=S004*1@2000")
            #expect(closed == .admissionClosed)
            let closedPrice = try await c.code("PRICE t admission=\(admission)")
            #expect(closedPrice == .admissionClosed)

            // The discharge was billed wrong: cancel it, add the missing test, discharge again.
            let cancelled = try await c.request("CANCEL t trace=C1 settlement=\(discharged.value("settlement")!)")
            #expect(cancelled.value("refund") == "200000" && cancelled.value("balance") == "200000")
            let added = try await c.request("FEES t trace=F5 admission=\(admission) items=S004*1@2000")
            #expect(added.value("lines") == "7" && added.value("total") == "850000")
            // inscope 536600; fund floor(436600 × 0.8) = 349280; personal 500720; account 200000.
            let second = try await c.request("DISCHARGE t trace=D2 admission=\(admission) card=\(card) pin=470291")
            #expect(second.splitText == "total=850000 selfpay_full=102500 selfpay_first=210900 inscope=536600 deductible=100000 fund=349280 account=200000 cash=300720")
            #expect(try await c.request("QUERY t trace=D1").value("state") == "cancelled")
            #expect(try await c.request("QUERY t trace=D2").value("state") == "settled")

            // A new admission blocks reopening the old one by cancel.
            let next = try await c.request("ADMIT t trace=ADM3 card=\(card) pin=470291")
            #expect(next.ok)
            let reopen = try await c.code("CANCEL t trace=C2 settlement=\(second.value("settlement")!)")
            #expect(reopen == .admissionOpen)
        }
        try await engine.withTerminal("H002-01") { (c: MSLPConnection) async throws -> Void in
            let foreign = try await c.code("FEES t trace=F1 admission=A1 items=S004*1@2000")
            #expect(foreign == .forbidden || foreign == .notFound)
        }
        let fund = try engine.scalar("SELECT fund_paid FROM accumulator a JOIN card c ON c.person_id = a.person_id WHERE c.card_no = $1 AND visit = 'inpatient'", [card])
        #expect(fund == 349_280)
        await engine.stop()
    }

    /// DISCHARGE presents the card before it looks at the admission: a wrong PIN is counted (and
    /// answered) whatever else is wrong — another patient's admission, a closed one.
    @Test func aDischargeCountsAWrongPINBeforeTheAdmissionsChecks() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 200_000)
        let (_, otherCard) = try await engine.newCardholder(credit: 1_000)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            let admission = try #require(try await c.request("ADMIT t trace=DO-A card=\(card) pin=470291").value("admission"))
            #expect(try await c.request("FEES t trace=DO-F admission=\(admission) items=S004*1@2000").ok)
            let wrongOther = try await c.request("DISCHARGE t trace=DO-1 admission=\(admission) card=\(otherCard) pin=000000")
            #expect(wrongOther.errorCode == .pinWrong && wrongOther.value("left") == "5", "\(wrongOther)")
            #expect(try await c.code("DISCHARGE t trace=DO-2 admission=\(admission) card=\(otherCard) pin=470291") == .badRequest)
            #expect(try await c.request("DISCHARGE t trace=DO-3 admission=\(admission) card=\(card) pin=470291").ok)
            let closed = try await c.request("DISCHARGE t trace=DO-4 admission=\(admission) card=\(card) pin=000000")
            #expect(closed.errorCode == .pinWrong && closed.value("left") == "5", "\(closed)")
            #expect(try await c.code("DISCHARGE t trace=DO-5 admission=\(admission) card=\(card) pin=470291") == .admissionClosed)
        }
        // The right PIN of DO-2 reset the other card's count; DO-5's reset this card's.
        #expect(try engine.scalar("SELECT count(*) FROM card_event WHERE event = 'pin_failed' AND card_no IN ($1, $2)", [card, otherCard]) == 2)
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [card]) == 0)
        await engine.stop()
    }

    @Test func pharmaciesCannotAdmitAndQRWorksAtAdmission() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let admit = try await c.code("ADMIT t trace=X card=\(Demo.employeeCard) pin=\(Demo.employeePIN)")
            #expect(admit == .forbidden)
        }
        let qr = try await engine.withTerminal("O001-01") { c in try #require(try await c.request("QRCODE t card=\(Demo.retireeCard)").value("qr")) }
        try await engine.withTerminal("H003-01") { (c: MSLPConnection) async throws -> Void in
            let admitted = try await c.request("ADMIT t trace=Q1 qr=\(qr)")
            #expect(admitted.ok)
            let reused = try await c.code("ADMIT t trace=Q2 qr=\(qr)")
            #expect(reused == .qrUsed)
            let noFees = try await c.code("DISCHARGE t trace=Q3 admission=\(admitted.value("admission")!) card=\(Demo.retireeCard) pin=\(Demo.retireePIN)")
            #expect(noFees == .badState)
        }
        await engine.stop()
    }
}
