import Foundation
import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleStore
import PGClient
import Testing

extension TestEngine {
    /// Waits until this front's reference book satisfies `condition` (a NOTIFY arrives within
    /// milliseconds; the bound is only there to fail rather than hang).
    func waitForReference(_ what: String, _ condition: (ReferenceBook) -> Bool) async throws {
        for _ in 0..<500 {
            if condition(store.reference) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("this front never saw: \(what)")
    }

    func administration() throws -> ReferenceAdministration {
        ReferenceAdministration(connection: try PGConnection(conninfo: conninfo))
    }

    var today: BusinessDate { BusinessDate(unixSeconds: clock.now()) }
}

/// The demo catalog with some items changed, as a new version would bring them.
func catalog(of engine: TestEngine, changing changes: [String: (CatalogItem) -> CatalogItem]) throws -> [CatalogItem] {
    let current = try #require(engine.store.reference.versions.catalog(on: engine.today))
    return current.items.values.sorted { $0.code < $1.code }.map { item in changes[item.code].map { $0(item) } ?? item }
}

func reclassified(_ item: CatalogItem, as itemClass: ItemClass) -> CatalogItem {
    CatalogItem(code: item.code, name: item.name, itemClass: itemClass, unit: item.unit, priceLimit: item.priceLimit,
                firstSelfPayBP: 0, traced: item.traced)
}

/// RULES.md §7 and §12: which version prices a claim, the midnight switch, fee lines keeping
/// their upload day's classification, history never changing, and no version in force.
@Suite(.timeLimit(.minutes(3)))
struct ReferenceVersionTests {
    /// 2026-11-30 00:00:00 in Shanghai: the next business day of `TestEngine.defaultNow`.
    static let midnight = BusinessDate(year: 2026, month: 11, day: 30)!.startUnixSeconds

    @Test func theMidnightSwitchPricesWithTheNewVersion() async throws {
        let engine = try await TestEngine.start()
        let tomorrow = BusinessDate(year: 2026, month: 11, day: 30)!
        // Version 2 from tomorrow: A001 becomes class C (fully self-paid; at a pharmacy the
        // employee's account does not pay it), so the split tells the versions apart.
        let items = try catalog(of: engine, changing: ["A001": { reclassified($0, as: .c) }])
        let imported = try engine.administration().importCatalog(items, effective: tomorrow, today: engine.today)
        #expect(imported.version == 2 && imported.rows == items.count)
        try await engine.waitForReference("catalog version 2") { $0.versions.latestCatalogVersion == 2 }

        try await engine.withTerminal("P001-01") { c in
            engine.clock.set(Self.midnight - 1) // 23:59:59
            let before = try await c.request("PRICE t card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*1@1000")
            #expect(before.value("account") == "1000" && before.value("cash") == "0", "\(before)")
            let info = try await c.request("ITEMINFO t code=A001")
            #expect(info.value("class") == "A" && info.value("version") == "1" && info.value("effective") == "20000101", "\(info)")
            let settledBefore = try await c.request("SETTLE t trace=MID1 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*1@1000")
            #expect(settledBefore.ok, "\(settledBefore)")

            engine.clock.set(Self.midnight) // 00:00:00
            let after = try await c.request("PRICE t card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*1@1000")
            #expect(after.value("account") == "0" && after.value("cash") == "1000" && after.value("selfpay_full") == "1000", "\(after)")
            let newInfo = try await c.request("ITEMINFO t code=A001")
            #expect(newInfo.value("class") == "C" && newInfo.value("version") == "2" && newInfo.value("effective") == "20261130")
            let dated = try await c.request("ITEMINFO t code=A001 date=20261129")
            #expect(dated.value("class") == "A" && dated.value("version") == "1")
            let settledAfter = try await c.request("SETTLE t trace=MID2 card=\(Demo.employeeCard) pin=\(Demo.employeePIN) items=A001*1@1000")
            #expect(settledAfter.value("cash") == "1000")

            // Each settlement records what priced it; undoing the first gives back what it moved,
            // whatever came since.
            #expect(try engine.scalar("SELECT catalog_version FROM settlement WHERE trace = 'MID1'") == 1)
            #expect(try engine.scalar("SELECT catalog_version FROM settlement WHERE trace = 'MID2'") == 2)
            #expect(try engine.scalar("SELECT policy_version FROM settlement WHERE trace = 'MID2'") == 1)
            let first = try #require(settledBefore.value("settlement"))
            let cancelled = try await c.request("CANCEL t trace=MIDC settlement=\(first)")
            #expect(cancelled.value("refund") == "1000", "\(cancelled)")
        }
        await engine.stop()
    }

    @Test func aSameDateImportReplacesTheFirstAtOnce() async throws {
        let engine = try await TestEngine.start()
        let admin = try engine.administration()
        let today = engine.today
        let asC = try catalog(of: engine, changing: ["A002": { reclassified($0, as: .c) }])
        let asB = try catalog(of: engine, changing: ["A002": { reclassified($0, as: .b) }])
        #expect(try admin.importCatalog(asC, effective: today, today: today).version == 2)
        #expect(try admin.importCatalog(asB, effective: today, today: today).version == 3)
        #expect(throws: ReferenceImportError.effectiveInThePast(effective: BusinessDate(year: 2026, month: 11, day: 28)!, today: today)) {
            try admin.importCatalog(asB, effective: BusinessDate(year: 2026, month: 11, day: 28)!, today: today)
        }
        try await engine.waitForReference("catalog version 3") { $0.versions.latestCatalogVersion == 3 }
        try await engine.withTerminal("P001-01") { c in
            let info = try await c.request("ITEMINFO t code=A002")
            #expect(info.value("version") == "3" && info.value("class") == "B", "\(info)")
            #expect(try await c.request("ITEMINFO t code=Z999").errorCode == .unknownItem)
            #expect(try await c.request("ITEMINFO t code=a_b-c").errorCode == .unknownItem)
            #expect(try await c.request("ITEMINFO t code=A0*1").errorCode == .badRequest)
            #expect(try await c.request("ITEMINFO t code=A001 date=20261332").errorCode == .badRequest)
            #expect(try await c.request("ITEMINFO t code=A001 date=19991231").errorCode == .badState)
        }
        #expect(try admin.catalogVersions().map(\.version) == [1, 2, 3])
        await engine.stop()
    }

    /// A fee line keeps the class its upload day gave it; the discharge applies the policy of its
    /// own day to all of them.
    @Test func feeLinesKeepTheirUploadDaysClassification() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 0)
        let tomorrow = BusinessDate(year: 2026, month: 11, day: 30)!
        // S001 (bed day, class A) becomes class C tomorrow.
        let items = try catalog(of: engine, changing: ["S001": { reclassified($0, as: .c) }])
        _ = try engine.administration().importCatalog(items, effective: tomorrow, today: engine.today)
        try await engine.waitForReference("catalog version 2") { $0.versions.latestCatalogVersion == 2 }
        try await engine.withTerminal("H001-01") { c in
            engine.clock.set(Self.midnight - 1)
            let admission = try #require(try await c.request("ADMIT t trace=A1 card=\(card) pin=470291").value("admission"))
            #expect(try await c.request("FEES t trace=F1 admission=\(admission) items=S001*1@4000").ok)
            engine.clock.set(Self.midnight)
            #expect(try await c.request("FEES t trace=F2 admission=\(admission) items=S001*1@4000").ok)
            // The first line in scope (class A), the second fully self-paid (class C).
            let priced = try await c.request("PRICE t admission=\(admission)")
            #expect(priced.value("total") == "8000" && priced.value("selfpay_full") == "4000" && priced.value("inscope") == "4000",
                    "\(priced)")
            let discharged = try await c.request("DISCHARGE t trace=D1 admission=\(admission) card=\(card) pin=470291")
            #expect(discharged.value("selfpay_full") == "4000", "\(discharged)")
        }
        #expect(try engine.scalar("SELECT catalog_version FROM settlement WHERE trace = 'D1'") == 2)
        await engine.stop()
    }

    /// RULES.md §12: with no version in force, claims answer BAD_STATE and nothing is counted.
    @Test func noVersionInForceAnswersBadState() async throws {
        let engine = try await TestEngine.start()
        // A database whose only versions take effect later: move the clock back before them.
        engine.clock.set(BusinessDate(year: 1999, month: 12, day: 31)!.startUnixSeconds + 3600)
        try await engine.withTerminal("P001-01") { c in
            let price = try await c.request("PRICE t card=\(Demo.employeeCard) pin=000000 items=A001*1@1000")
            #expect(price.errorCode == .badState && price.message?.contains("19991231") == true, "\(price)")
            let settle = try await c.request("SETTLE t trace=NV1 card=\(Demo.employeeCard) pin=000000 items=A001*1@1000")
            #expect(settle.errorCode == .badState)
            #expect(try await c.request("ITEMINFO t code=A001").errorCode == .badState)
        }
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [Demo.employeeCard]) == 0)
        await engine.stop()
    }
}
