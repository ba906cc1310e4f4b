import MSLP
import MSLPChannel
import Testing

/// The "done when": a newly enrolled person is credited, issued a card, changes the PIN
/// and settles a pharmacy purchase with the split RULES.md §4 gives.
@Suite(.timeLimit(.minutes(2)))
struct PharmacyFlowTests {
    @Test func newPersonSettlesAtPharmacy() async throws {
        let engine = try await TestEngine.start()
        let idNo = IDNumbers.fresh()

        try await engine.withTerminal("G001-01") { agency in
            let enrolled = try await agency.request("ENROLL e1 id_no=\(idNo) name=%E5%88%98%E6%B4%8B insurance=employee")
            #expect(enrolled.ok && enrolled.value("person") == idNo)
            let credited = try await agency.request("CREDIT e2 trace=CR1 id_no=\(idNo) amount=30000")
            #expect(credited.ok && credited.value("balance") == "30000")
        }
        let card = try await engine.withTerminal("W001-01") { window in
            let issued = try await window.request("ISSUE w1 id_no=\(idNo)")
            #expect(issued.ok && issued.value("status") == "PENDING")
            return try #require(issued.value("card"))
        }
        #expect(card.utf8.count == 9)

        try await engine.withTerminal("P001-01") { pharmacy in
            let pending = try await pharmacy.request("CARDINFO p0 card=\(card) pin=123456")
            #expect(pending.errorCode == .pinChangeRequired)
            let changed = try await pharmacy.request("PINCHANGE p1 card=\(card) pin=123456 new=470291")
            #expect(changed.ok && changed.value("status") == "ACTIVE")
            let info = try await pharmacy.request("CARDINFO p2 card=\(card) pin=470291")
            #expect(info.ok && info.value("person") == idNo && info.value("name") == "刘洋" && info.value("balance") == "30000")

            let settled = try await pharmacy.request("SETTLE p3 trace=20261129000017 card=\(card) pin=470291 items=A001*2@1250;C001*1@3000")
            #expect(settled.ok)
            #expect(settled.value("settlement")?.hasPrefix("S") == true)
            #expect(settled.splitText == "total=5500 selfpay_full=3000 selfpay_first=0 inscope=2500 deductible=0 fund=0 account=2500 cash=3000")
            #expect(settled.value("balance") == "27500")

            let queried = try await pharmacy.request("QUERY p4 trace=20261129000017")
            #expect(queried.value("state") == "settled" && queried.value("settlement") == settled.value("settlement"))
        }
        #expect(try engine.scalar("SELECT balance FROM person WHERE id_no = $1", [idNo]) == 27_500)
        #expect(try engine.scalar("SELECT count(*) FROM settlement_lines") == 2)
        await engine.stop()
    }

    /// PROTOCOL.md's example line, byte for byte, against the demo employee.
    @Test func protocolExample() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { pharmacy in
            try await pharmacy.send(raw: Array("SETTLE a2 trace=20261129000017 card=H00000017 pin=246810 items=A001*2@1250;C001*1@3000\n".utf8))
            let line = try #require(try await pharmacy.readLine())
            let text = String(decoding: line, as: UTF8.self)
            #expect(text.hasPrefix("a2 OK settlement=S"))
            // PROTOCOL.md revision 1.1 adds pool, illness, assist and aid after the split's fields.
            #expect(text.hasSuffix(" total=5500 selfpay_full=3000 selfpay_first=0 inscope=2500 deductible=0 fund=0 account=2500 cash=3000 pool=0 illness=0 assist=0 aid=0 balance=47500"))
            try await pharmacy.send(raw: Array("SETTLE a3 trace=20261129000018 card=H00000017 pin=000000 items=A001*1@1250\n".utf8))
            let wrong = try #require(try await pharmacy.readLine())
            #expect(String(decoding: wrong, as: UTF8.self) == "a3 ERR PIN_WRONG left=5 msg=wrong%20PIN")
        }
        await engine.stop()
    }
}

extension ReplyLine {
    /// The eight split fields as `k=v` text, in wire order.
    var splitText: String {
        ["total", "selfpay_full", "selfpay_first", "inscope", "deductible", "fund", "account", "cash"]
            .map { "\($0)=\(value($0) ?? "?")" }.joined(separator: " ")
    }
}
