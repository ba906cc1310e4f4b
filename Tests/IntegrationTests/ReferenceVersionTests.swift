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

    /// Imports judged by this engine's manual clock alone (the database's clock says 2026-12 or later).
    func administration() throws -> ReferenceAdministration {
        ReferenceAdministration(connection: try PGConnection(conninfo: conninfo), checksDatabaseClock: false)
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

    /// A policy version dated tomorrow prices from midnight; a discharge applies the policy of its
    /// own day to lines uploaded before.
    @Test func thePolicySwitchesAtMidnightToo() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 0)
        let current = try #require(engine.store.reference.versions.policy(on: engine.today))
        // Tomorrow the fund pays 50 % of a pharmacy claim and, at a level-3 hospital, 90 % of a stay.
        let policies = current.policies.values.map { p -> Policy in
            let ratio: Int64 = p.visit == .pharmacy ? 5000 : (p.visit == .inpatient && p.level == 3 ? 9000 : p.fundRatioBP)
            return Policy(insurance: p.insurance, visit: p.visit, level: p.level, deductible: p.visit == .pharmacy ? 0 : p.deductible,
                          deductibleScope: p.deductibleScope, fundRatioBP: ratio, annualCeiling: p.visit == .pharmacy ? 1_000_000 : p.annualCeiling,
                          accountPaysFull: p.accountPaysFull)
        }
        let tomorrow = BusinessDate(year: 2026, month: 11, day: 30)!
        let made = try engine.administration().importPolicy(policies, benefits: Array(current.benefits.values), effective: tomorrow,
                                                            today: engine.today)
        try await engine.waitForReference("policy version 2") { $0.versions.latestPolicyVersion == made.version }
        try await engine.withTerminal("P001-01") { c in
            engine.clock.set(Self.midnight - 1)
            let before = try await c.request("PRICE t card=\(card) pin=470291 items=A001*1@1000")
            #expect(before.value("fund") == "0", "\(before)")
            engine.clock.set(Self.midnight)
            let after = try await c.request("PRICE t card=\(card) pin=470291 items=A001*1@1000")
            #expect(after.value("fund") == "500", "\(after)")
            let settled = try await c.request("SETTLE t trace=PM1 card=\(card) pin=470291 items=A001*1@1000")
            #expect(settled.value("fund") == "500")
        }
        #expect(try engine.scalar("SELECT policy_version FROM settlement WHERE trace = 'PM1'") == Int64(made.version))
        try await engine.withTerminal("H001-01") { c in
            engine.clock.set(Self.midnight - 3600)
            let admission = try #require(try await c.request("ADMIT t trace=PA card=\(card) pin=470291").value("admission"))
            // 30 bed days (A) 120 000: deductible 100 000, then the fund's share of 20 000.
            #expect(try await c.request("FEES t trace=PF admission=\(admission) items=S001*30@4000").ok)
            let today = try await c.request("PRICE t admission=\(admission)")
            engine.clock.set(Self.midnight + 3600)
            let discharged = try await c.request("DISCHARGE t trace=PD admission=\(admission) card=\(card) pin=470291")
            #expect(today.value("deductible") == discharged.value("deductible"), "\(today) \(discharged)")
            #expect(discharged.value("fund") == "18000", "90 % of 20 000 under tomorrow's policy: \(discharged)")
        }
        await engine.stop()
    }

    /// The follower's connection is lost: it reconnects, reloads everything (a change made
    /// meanwhile is not missed), and sign-ins resume.
    @Test func theFollowerReconnectsAndMissesNothing() async throws {
        let engine = try await TestEngine.start()
        let admin = try PGConnection(conninfo: engine.conninfo)
        let ended = try admin.query("""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'medsettle-reference'
            """).requireInt(0, 0)
        #expect(ended == 1)
        try admin.execute("UPDATE terminal SET enabled = false, disabled_count = disabled_count + 1 WHERE id = 'P001-02'")
        try await engine.waitForReference("P001-02 disabled after the reconnect") {
            $0.isCurrent && $0.credentials("P001-02")?.enabled == false
        }
        #expect(try await TerminalAdministrationTests.signIn(engine, "P001-02", Terminals.key("P001-02")).code == "TERMINAL_DISABLED")
        #expect(try await TerminalAdministrationTests.signIn(engine, "P001-01", Terminals.key("P001-01")).ok)
        await engine.stop()
    }

    /// An institution import that changes a hospital's level applies to its open sessions at once.
    @Test func aLevelChangeReachesOpenSessions() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 0)
        try await engine.withTerminal("H003-01") { c in
            // Employee outpatient: 60 % at level 1, 55 % at level 2, after a 20 000 deductible.
            let level1 = try await c.request("PRICE t card=\(card) pin=470291 items=A001*20@1500")
            #expect(level1.value("fund") == "6000", "\(level1)")
            let institutions = engine.store.reference.institutions.values.map { i in
                i.code == "H003" ? InstitutionRecord(code: i.code, name: i.name, kind: i.kind, level: 2) : i
            }
            _ = try engine.administration().importInstitutions(Array(institutions))
            try await engine.waitForReference("H003 at level 2") { $0.credentials("H003-01")?.context.level == 2 }
            let level2 = try await c.request("PRICE t card=\(card) pin=470291 items=A001*20@1500")
            #expect(level2.value("fund") == "5500", "\(level2)")
        }
        await engine.stop()
    }

    /// ITEMINFO spells a name with spaces as the protocol spells values (%20), and a client reads it back.
    @Test func itemInfoNamesTravelPercentCoded() async throws {
        let engine = try await TestEngine.start()
        try await engine.withConnection { c in
            #expect(try await c.signIn(terminal: "H001-01", key: Terminals.key("H001-01")).ok)
            try await c.send(raw: Array("ITEMINFO i1 code=B001\n".utf8))
            let raw = String(decoding: try #require(try await c.readLine()), as: UTF8.self)
            #expect(raw == "i1 OK code=B001 name=阿托伐他汀钙片%2020mg×7片 class=B unit=盒 limit=3500 first_bp=1000 traced=0 version=1 effective=20000101",
                    "\(raw)")
            let info = try await c.request("ITEMINFO i2 code=B001")
            #expect(info.value("name") == "阿托伐他汀钙片 20mg×7片")
        }
        await engine.stop()
    }
}
