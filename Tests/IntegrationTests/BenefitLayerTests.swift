import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleStore
import Testing

/// RULES.md §8 and §12 over TCP: the serious-illness and assistance layers after the basic fund,
/// with the demo benefit table (residents: threshold 1 500 000, 60 %, ceiling 40 000 000;
/// assistance 70 %, 5 000 000). H003 is a level-1 hospital: resident outpatient there has no
/// deductible, a 50 % pool and a 40 000 annual pool ceiling.
@Suite(.timeLimit(.minutes(2)))
struct BenefitLayerTests {
    /// 1000 blood tests at their 2 000 limit: 2 000 000 in scope.
    static let bigClaim = "S004*1000@2000"

    @Test func layersPayAfterThePoolAndUndoingRestoresTheYear() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(insurance: "resident", assist: true)
        try await engine.withTerminal("H003-01") { c in
            // pool 40 000 (ceiling); burden 1 960 000, 460 000 over the threshold: illness 276 000;
            // assistance 70 % of 1 684 000 = 1 178 800; the resident pays the rest in cash.
            let expected = "total=2000000 selfpay_full=0 selfpay_first=0 inscope=2000000 deductible=0 fund=1494800 account=0 cash=505200 pool=40000 illness=276000 assist=1178800 aid=0"
            let priced = try await c.request("PRICE t card=\(card) pin=470291 items=\(Self.bigClaim)")
            #expect(Self.split(priced) == expected, "\(priced)")
            let first = try await c.request("SETTLE t trace=L1 card=\(card) pin=470291 items=\(Self.bigClaim)")
            #expect(Self.split(first) == expected, "\(first)")
            // The year counts it: a second claim's whole burden is over the threshold, the pool's
            // ceiling is reached, the assistance ceiling binds at 5 000 000 − 1 178 800.
            let second = try await c.request("SETTLE t trace=L2 card=\(card) pin=470291 items=\(Self.bigClaim)")
            #expect(second.value("pool") == "0" && second.value("illness") == "1200000" && second.value("assist") == "560000", "\(second)")
            #expect(try await c.request("QUERY t trace=L1").value("illness") == "276000")
            // Cancelling both restores the year: the same claim prices the same again.
            for (trace, reply) in [("C2", second), ("C1", first)] {
                #expect(try await c.request("CANCEL t trace=\(trace) settlement=\(reply.value("settlement") ?? "")").ok)
            }
            let again = try await c.request("PRICE t card=\(card) pin=470291 items=\(Self.bigClaim)")
            #expect(Self.split(again) == expected, "\(again)")
        }
        #expect(try engine.scalar("SELECT burden + illness_paid + assist_paid + fund_paid FROM accumulator WHERE person_id = (SELECT id FROM person WHERE id_no = $1)",
                                  [idNo]) == 0)
        await engine.stop()
    }

    /// Pharmacy claims are outside the layers and add no burden.
    @Test func pharmacyClaimsAreOutsideTheLayers() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(insurance: "resident", assist: true)
        try await engine.withTerminal("P001-01") { c in
            let settled = try await c.request("SETTLE t trace=P1 card=\(card) pin=470291 items=A001*1000@1500")
            #expect(settled.value("illness") == "0" && settled.value("assist") == "0" && settled.value("cash") == "1500000", "\(settled)")
        }
        #expect(try engine.scalar("SELECT coalesce(sum(burden), 0) FROM accumulator WHERE person_id = (SELECT id FROM person WHERE id_no = $1)",
                                  [idNo]) == 0)
        await engine.stop()
    }

    /// The agency sets the assistance flag with PERSONUPDATE (and nothing else); the window may too.
    @Test func theAssistFlag() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(insurance: "resident")
        try await engine.withTerminal("H003-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("PRICE t card=\(card) pin=470291 items=\(Self.bigClaim)").value("assist") == "0")
        }
        try await engine.withTerminal("G001-01") { (agency: MSLPConnection) async throws -> Void in
            #expect(try await agency.request("PERSONUPDATE u id_no=\(idNo) assist=1").ok)
            #expect(try await agency.code("PERSONUPDATE u id_no=\(idNo) name=Other") == .forbidden)
            #expect(try await agency.code("PERSONUPDATE u id_no=\(idNo) assist=2") == .badRequest)
            #expect(try await agency.code("ENROLL e id_no=\(IDNumbers.fresh()) name=X insurance=resident assist=yes") == .badRequest)
        }
        try await engine.withTerminal("H003-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("PRICE t card=\(card) pin=470291 items=\(Self.bigClaim)").value("assist") == "1178800")
        }
        try await engine.withTerminal("W001-01") { (window: MSLPConnection) async throws -> Void in
            #expect(try await window.request("PERSONUPDATE u id_no=\(idNo) assist=0").ok)
        }
        try await engine.withTerminal("H003-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("PRICE t card=\(card) pin=470291 items=\(Self.bigClaim)").value("assist") == "0")
        }
        await engine.stop()
    }

    /// §12: the burden accumulates while a layer is off, so a layer switched on mid-year sees the
    /// whole year. RECON carries the layers' sums.
    @Test func aLayerSwitchedOnMidYearSeesTheWholeYear() async throws {
        let engine = try await TestEngine.start()
        let current = try #require(engine.store.reference.versions.policy(on: engine.today))
        func benefits(illnessCeiling: Fen) -> [Benefit] {
            current.benefits.values.map { b in
                Benefit(insurance: b.insurance, illnessThreshold: b.illnessThreshold, illnessRatioBP: b.illnessRatioBP,
                        illnessCeiling: illnessCeiling, assistRatioBP: b.assistRatioBP, assistCeiling: 0)
            }
        }
        let off = try engine.administration().importPolicy(Array(current.policies.values), benefits: benefits(illnessCeiling: 0),
                                                           effective: engine.today, today: engine.today)
        try await engine.waitForReference("the layers off") { $0.versions.latestPolicyVersion == off.version }
        let (_, card) = try await engine.newCardholder(insurance: "resident")
        try await engine.withTerminal("H003-01") { c in
            let offClaim = try await c.request("SETTLE t trace=M1 card=\(card) pin=470291 items=\(Self.bigClaim)")
            #expect(offClaim.value("illness") == "0" && offClaim.value("pool") == "40000", "\(offClaim)")
            let on = try engine.administration().importPolicy(Array(current.policies.values), benefits: benefits(illnessCeiling: 40_000_000),
                                                              effective: engine.today, today: engine.today)
            try await engine.waitForReference("the layers on") { $0.versions.latestPolicyVersion == on.version }
            // The year's burden of 1 960 000 is already over the threshold: 60 % of all 2 000 000.
            let onClaim = try await c.request("SETTLE t trace=M2 card=\(card) pin=470291 items=\(Self.bigClaim)")
            #expect(onClaim.value("illness") == "1200000", "\(onClaim)")
            let recon = try await c.request("RECON t date=20261129 count=2 total=4000000 fund=1240000 account=0 cash=2760000")
            #expect(recon.value("match") == "1" && recon.value("pool") == "40000" && recon.value("illness") == "1200000"
                    && recon.value("assist") == "0" && recon.value("aid") == "0", "\(recon)")
        }
        await engine.stop()
    }

    static func split(_ reply: ReplyLine) -> String {
        Split.fieldNames.map { "\($0)=\(reply.value($0) ?? "-")" }.joined(separator: " ")
    }
}
