import Foundation
import LocalPostgres
import Logging
import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleServer
@testable import MedsettleStore
import PGClient
import Testing

/// Defects found in a careful read (issue 12, item 9), each pinned by a test that failed before
/// its fix.
@Suite(.timeLimit(.minutes(3)))
struct DefectTests {
    static let pharmacy = GroupCommitTests.pharmacy

    /// Runs blocking store work on a thread of its own, not on one of the few threads that run
    /// every test's async code (blocking those stalls other tests' timed steps).
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }

    // MARK: - Lost commits are resolved by trace, not by presenting the card again

    /// A commit that happened although its connection was lost: the cluster names a synchronous
    /// standby that never comes, every commit is `local` except one armed by a deferred trigger,
    /// and that one's backend is terminated while it waits for the standby (it has committed
    /// locally by then). The engine must find what committed by trace and never present the card
    /// a second time: a wrong PIN is counted once, a batch's members are answered from one look-up.
    @Test func aLostCommitThatHappenedIsResolvedWithoutPresentingTheCardAgain() async throws {
        let directory = NSTemporaryDirectory() + "medsettle-lostcommit-\(UUID().uuidString.prefix(8))"
        let cluster = try LocalCluster.prepare(directory: directory, durable: true)
        try cluster.start()
        defer {
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(atPath: directory)
        }
        let setup = try PGConnection(conninfo: cluster.conninfo())
        try setup.execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
        try setup.execute("ALTER SYSTEM SET synchronous_commit = 'local'")
        _ = try setup.query("SELECT pg_reload_conf()")
        try DatabaseSetup.createDatabaseIfMissing(adminConninfo: cluster.conninfo(), name: "medsettle")
        let conninfo = cluster.conninfo(database: "medsettle")
        let secrets = TestDatabaseServer.shared.secrets
        _ = try DatabaseSetup.prepare(conninfo: conninfo, secrets: secrets, loadReferenceData: true, demoPeople: true)
        let admin = try PGConnection(conninfo: conninfo)
        try admin.execute("""
            CREATE TABLE sync_gate (armed boolean NOT NULL);
            INSERT INTO sync_gate VALUES (false);
            CREATE FUNCTION wait_for_standby() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE sync_gate SET armed = false WHERE armed;
                IF FOUND THEN PERFORM set_config('synchronous_commit', 'on', true); END IF;
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER wait_on_card AFTER UPDATE ON card DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION wait_for_standby();
            CREATE CONSTRAINT TRIGGER wait_on_settlement AFTER INSERT ON settlement DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION wait_for_standby();
            """)
        let pool = PGPool(conninfo: conninfo, size: 4)
        let store = try Store(pool: pool, secrets: secrets)
        defer { Task { await store.close(); pool.close() } }

        /// Runs `work` with the gate armed and terminates the backend that waits for the standby.
        func losingTheCommitAfterItHappened<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
            try admin.execute("UPDATE sync_gate SET armed = true")
            let running = Task { await Self.blocking(work) }
            let terminated = try await LostCommits.terminateWaiting(admin, on: "SyncRep")
            #expect(terminated == 1)
            return await running.value
        }
        func wrongCount(_ card: String) throws -> Int64? {
            try admin.query("SELECT wrong_count FROM card WHERE card_no = $1", [card]).int64(0, 0)
        }

        // A wrong PIN alone: its count committed; the engine cannot tell that from the trace (a
        // refusal binds none), so it answers BUSY rather than count the PIN again.
        let wrong = GroupCommitTests.claim(card: Demo.employeeCard, pin: "000000")
        let refused = try await losingTheCommitAfterItHappened {
            GroupCommitTests.batch(store, [(wrong, "LC-PIN", Self.pharmacy)])[0]
        }
        #expect(refused.refusal?.code == .busy, "\(refused)")
        #expect(try wrongCount(Demo.employeeCard) == 1, "counted once, not presented again")

        // A settlement alone: found by its trace, answered OK, not as a repeat.
        let right = GroupCommitTests.claim(card: Demo.retireeCard, pin: Demo.retireePIN)
        let settled = try await losingTheCommitAfterItHappened {
            GroupCommitTests.batch(store, [(right, "LC-OK", Self.pharmacy)])[0]
        }
        #expect(settled.isRepeat == false, "\(settled)")
        #expect(try admin.query("SELECT count(*) FROM settlement WHERE trace = 'LC-OK'").requireInt(0, 0) == 1)

        // A batch: a wrong PIN and two settlements committed together; one look-up answers all,
        // the wrong PIN with the count the batch committed (the second: left=4).
        let answers = try await losingTheCommitAfterItHappened {
            GroupCommitTests.batch(store, [
                (wrong, "LC-B1", Self.pharmacy),
                (GroupCommitTests.claim(card: Demo.retireeCard, pin: Demo.retireePIN, amount: 1100), "LC-B2", Self.pharmacy),
                (GroupCommitTests.claim(card: Demo.residentCard, pin: Demo.residentPIN), "LC-B3", Self.pharmacy),
            ])
        }
        #expect(answers[0].refusal?.detail == .attemptsLeft(4), "\(answers[0])")
        #expect(answers[1].isRepeat == false, "\(answers[1])")
        #expect(answers[2].isRepeat == false, "\(answers[2])")
        #expect(try wrongCount(Demo.employeeCard) == 2)
        #expect(try admin.query("SELECT count(*) FROM settlement WHERE trace LIKE 'LC-B%'").requireInt(0, 0) == 2)
    }

    /// A batch whose COMMIT was lost and did not happen (the backend is terminated inside a
    /// deferred trigger): one look-up finds none of its traces, and every claim runs again once.
    @Test func aLostBatchCommitThatDidNotHappenRunsEachClaimOnce() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let (_, other) = try await engine.newCardholder(credit: 10_000)
        let admin = try PGConnection(conninfo: engine.conninfo)
        try LostCommits.slowCommits(admin, after: "INSERT", on: "settlement", seconds: 60)
        let store = engine.store
        let running = Task {
            await Self.blocking {
                GroupCommitTests.batch(store, [
                (GroupCommitTests.claim(card: card), "LB-1", Self.pharmacy),
                    (GroupCommitTests.claim(card: other, pin: "000000"), "LB-2", Self.pharmacy),
                ])
            }
        }
        let terminated = try await LostCommits.terminateWaiting(admin)
        try LostCommits.openGate(admin)
        #expect(terminated == 1)
        let answers = await running.value
        #expect(answers[0].isRepeat == false, "\(answers[0])")
        #expect(answers[1].refusal?.detail == .attemptsLeft(5), "\(answers[1])")
        #expect(try engine.scalar("SELECT balance FROM person WHERE id_no = $1", [idNo]) == 8800)
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [other]) == 1)
        await engine.stop()
    }

    // MARK: - The trace check comes before the item check

    @Test func aReusedTraceWithAnUnknownItemIsTraceReused() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("SETTLE s trace=TR-1 card=\(card) pin=470291 items=A002*1@1200").ok)
            let reused = try await c.code("SETTLE s trace=TR-1 card=\(card) pin=470291 items=Q999*1@100")
            #expect(reused == .traceReused)
            // A fresh trace with an unknown item is refused and changes nothing, not even a PIN count.
            let fresh = try await c.request("SETTLE s trace=TR-2 card=\(card) pin=000000 items=Q999*1@100")
            #expect(fresh.errorCode == .unknownItem && fresh.value("item") == "Q999")
        }
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [card]) == 0)
        #expect(try engine.scalar("SELECT balance FROM person WHERE id_no = $1", [idNo]) == 8800)
        #expect(try engine.scalar("SELECT count(*) FROM trace WHERE trace = 'TR-2'") == 0)
        // The batch path alike.
        let unknown = ClaimRequest(credential: .card(number: card, pin: "470291"),
                                   lines: [ClaimLine(code: "Q999", quantity: Quantity(milli: 1000), price: 1200)],
                                   visit: .pharmacy, useAccount: true)
        let batched = GroupCommitTests.batch(engine.store, [(unknown, "TR-1", Self.pharmacy), (unknown, "TR-3", Self.pharmacy)])
        #expect(batched[0].refusal?.code == .traceReused)
        #expect(batched[1].refusal?.code == .unknownItem)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            let admission = try #require(try await c.request("ADMIT t trace=TR-A card=\(card) pin=470291").value("admission"))
            #expect(try await c.request("FEES t trace=TR-F admission=\(admission) items=S004*1@2000").ok)
            let reused = try await c.code("FEES t trace=TR-F admission=\(admission) items=Q999*1@100")
            #expect(reused == .traceReused)
        }
        await engine.stop()
    }

    // MARK: - Deductible scope from the policy table

    /// H001 is level 3. Employee outpatient there becomes `admission` scope (every visit meets its
    /// own deductible of 20 000) and inpatient `year` scope (the 100 000 is met once a year).
    @Test func theDeductibleFollowsThePolicysScope() async throws {
        let engine = try await TestEngine.start()
        // A policy version in force today with the two scopes changed.
        let current = try #require(engine.store.reference.versions.policy(on: engine.today))
        let policies = current.policies.values.map { p -> Policy in
            guard p.insurance == .employee, p.level == 3, p.visit != .pharmacy else { return p }
            return Policy(insurance: p.insurance, visit: p.visit, level: p.level, deductible: p.deductible,
                          deductibleScope: p.visit == .outpatient ? .admission : .year, fundRatioBP: p.fundRatioBP,
                          annualCeiling: p.annualCeiling, accountPaysFull: p.accountPaysFull)
        }
        let made = try engine.administration().importPolicy(policies, benefits: Array(current.benefits.values), effective: engine.today,
                                                            today: engine.today)
        try await engine.waitForReference("the new policy") { $0.versions.latestPolicyVersion == made.version }
        let (_, card) = try await engine.newCardholder(credit: 1_000)
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            for trace in ["DS-O1", "DS-O2"] {
                let settled = try await c.request("SETTLE t trace=\(trace) card=\(card) pin=470291 items=A001*20@1500")
                #expect(settled.value("deductible") == "20000", "\(trace): \(settled)")
            }
            var deductibles: [String?] = []
            for stay in 1...2 {
                let admission = try #require(try await c.request("ADMIT t trace=DS-A\(stay) card=\(card) pin=470291").value("admission"))
                #expect(try await c.request("FEES t trace=DS-F\(stay) admission=\(admission) items=S001*30@4000").ok)
                let discharged = try await c.request("DISCHARGE t trace=DS-D\(stay) admission=\(admission) card=\(card) pin=470291")
                deductibles.append(discharged.value("deductible"))
            }
            #expect(deductibles == ["100000", "0"])
        }
        await engine.stop()
    }

    // MARK: - DISCHARGE reads the business date once

    /// A clock at 23:59:59 on 31 December 2026 (Shanghai) for its first `flipAfter` reads and at
    /// midnight after.
    final class YearEndClock: MedsettleCore.Clock, @unchecked Sendable {
        static let lastSecond: Int64 = 1_798_732_799
        private let lock = NSLock()
        private var reads = 0
        let flipAfter: Int
        init(flipAfter: Int) { self.flipAfter = flipAfter }
        func now() -> Int64 {
            lock.lock(); defer { lock.unlock() }
            reads += 1
            return reads <= flipAfter ? Self.lastSecond : Self.lastSecond + 1
        }
    }

    /// The year's fund ceiling is used up: a discharge on 31 December pays no fund, one on
    /// 1 January does. Whenever midnight falls during the discharge, its ceiling, its accumulator
    /// and its business date are of one year.
    @Test func aDischargeAtMidnightOnNewYearsEveIsOfOneYear() async throws {
        let engine = try await TestEngine.start(now: YearEndClock.lastSecond)
        let (_, card) = try await engine.newCardholder(credit: 1_000)
        _ = try engine.scalar("""
            INSERT INTO accumulator (person_id, year, visit, deductible_met, fund_paid)
            SELECT person_id, 2026, 'inpatient', 0, 40000000 FROM card WHERE card_no = $1 RETURNING 1
            """, [card])
        let hospital = TerminalContext(terminal: "H001-01", institution: "H001", kind: .hospital, level: 3)
        for flipAfter in 1...4 {
            let admission = try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> String in
                let admission = try #require(try await c.request("ADMIT t trace=NY-A\(flipAfter) card=\(card) pin=470291").value("admission"))
                #expect(try await c.request("FEES t trace=NY-F\(flipAfter) admission=\(admission) items=S001*30@4000").ok)
                return admission
            }
            let store = try Store(pool: engine.pool, secrets: TestDatabaseServer.shared.secrets, clock: YearEndClock(flipAfter: flipAfter))
            let traced = TracedRequest(trace: "NY-D\(flipAfter)", verb: "DISCHARGE", fingerprint: Array(repeating: UInt8(flipAfter), count: 32))
            let discharged = await Self.blocking {
                store.stays.discharge(admission: admission, credential: .card(number: card, pin: "470291"),
                                      useAccount: true, traced: traced, by: hospital)
            }
            await store.close()
            let fund = try #require(try? discharged.get().settlement.split.fund, "\(discharged)")
            let year = try #require(try engine.scalar("SELECT extract(year FROM business_date)::bigint FROM settlement WHERE trace = $1", ["NY-D\(flipAfter)"]))
            #expect((year == 2026) == (fund == 0), "flip after \(flipAfter) reads: dated \(year), fund \(fund)")
            let accumulated = try engine.scalar("""
                SELECT coalesce(sum(fund_paid), 0)::bigint FROM accumulator a JOIN card c ON c.person_id = a.person_id
                WHERE c.card_no = $1 AND a.year = 2027
                """, [card])
            if year == 2027 { #expect(accumulated ?? 0 >= fund) }
        }
        await engine.stop()
    }

    // MARK: - Names are counted as PostgreSQL counts them

    @Test func namesAndWardsAreCountedInCodePoints() async throws {
        let engine = try await TestEngine.start()
        let combining = "a" + String(repeating: "\u{301}", count: 100) // one character, 101 code points
        let fits = "a" + String(repeating: "\u{301}", count: 63) // 64 code points
        try await engine.withTerminal("G001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.code("ENROLL e id_no=\(IDNumbers.fresh()) name=\(combining) insurance=employee") == .badRequest)
            #expect(try await c.request("ENROLL e id_no=\(IDNumbers.fresh()) name=\(fits) insurance=employee").ok)
        }
        let (_, card) = try await engine.newCardholder()
        try await engine.withTerminal("H001-01") { (c: MSLPConnection) async throws -> Void in
            let ward = "a" + String(repeating: "\u{301}", count: 32) // 33 code points
            #expect(try await c.code("ADMIT t trace=W1 card=\(card) pin=470291 ward=\(ward)") == .badRequest)
        }
        await engine.stop()
    }

    // MARK: - ENROLL is one transaction

    /// The connection is lost while ENROLL commits: the answer is not "nothing was done".
    @Test func anEnrolmentWhoseCommitWasLostIsNotAnsweredAsNotDone() async throws {
        let engine = try await TestEngine.start()
        let admin = try PGConnection(conninfo: engine.conninfo)
        try admin.execute("""
            CREATE FUNCTION slow_person() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER slow_person AFTER INSERT ON person DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION slow_person();
            """)
        let reply = Task {
            try await engine.withTerminal("G001-01") { (c: MSLPConnection) async throws -> ReplyLine in
                try await c.request("ENROLL e id_no=\(IDNumbers.fresh()) name=Test insurance=employee")
            }
        }
        let terminated = try await LostCommits.terminateWaiting(admin)
        #expect(terminated == 1)
        let answer = try await reply.value
        #expect(answer.errorCode == .busy, "\(answer)")
        try admin.execute("DROP TRIGGER slow_person ON person")
        await engine.stop()
    }

    // MARK: - A terminal key that cannot be unsealed

    /// The keys are unsealed when the front loads the terminals: one that does not open is logged
    /// (by terminal, never the key) and that terminal cannot sign in.
    @Test func aTerminalKeyUnderAnotherSecretIsLoggedAndCannotSignIn() async throws {
        let engine = try await TestEngine.start()
        let lines = LogLines()
        let logger = Logger(label: "medsettle.store") { label in
            KeyValueLogHandler(label: label, level: .info) { lines.append($0) }
        }
        let otherSecret = try ServerSecrets(hex: ServerSecrets.generateHex())
        let store = try Store(pool: engine.pool, secrets: otherSecret, logger: logger)
        let server = try await MedsettleServer.start(configuration: .forTests,
                                                     store: store, logger: logger)
        let reply = try await MSLPClient.withConnection(host: "127.0.0.1", port: server.localPort) { connection in
            try await connection.signIn(terminal: "P001-01", key: Terminals.key("P001-01"))
        }
        #expect(reply.errorCode == .authFailed, "\(reply)")
        let logged = lines.all
        #expect(logged.contains { $0.contains("P001-01") && $0.contains("do not open") }, "\(logged)")
        #expect(!logged.contains { $0.contains(Terminals.keys["P001-01"]!) })
        try? await server.shutdown()
        await store.close()
        await engine.stop()
    }
}
