import Foundation
import LoadHarness
import LocalPostgres
import MSLPChannel
import MedsettleServer
import MedsettleStore
import PGClient
import Testing

/// The database goes away and comes back: requests that need it answer UNAVAILABLE at once
/// (nothing done), the rest keep working, and the pool reconnects by itself.
@Suite(.timeLimit(.minutes(2)))
struct OutageTests {
    @Test func unavailableWhileDownAndBackWithoutARestart() async throws {
        let directory = NSTemporaryDirectory() + "medsettle-outage-\(UUID().uuidString.prefix(8))"
        let cluster = try LocalCluster.prepare(directory: directory, durable: true) // survives an immediate stop
        try cluster.start()
        defer {
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(atPath: directory)
        }
        try DatabaseSetup.createDatabaseIfMissing(adminConninfo: cluster.conninfo(), name: "medsettle")
        let conninfo = cluster.conninfo(database: "medsettle")
        let secrets = TestDatabaseServer.shared.secrets
        _ = try DatabaseSetup.prepare(conninfo: conninfo, secrets: secrets, loadReferenceData: true, demoPeople: true)
        let pool = PGPool(conninfo: conninfo, size: 4, acquireTimeoutSeconds: 2)
        let store = try Store(pool: pool, secrets: secrets)
        let server = try await MedsettleServer.start(configuration: .forTests, store: store)
        defer { Task { await store.close(); pool.close() } }

        func settle(_ trace: String) async throws -> String {
            try await MSLPClient.withConnection(host: "127.0.0.1", port: server.localPort) { connection in
                let signIn = try await connection.signIn(terminal: "P001-01", key: Terminals.key("P001-01"))
                guard signIn.ok else { return "SIGNIN " + (signIn.code ?? "?") }
                let reply = try await connection.request("SETTLE s1 trace=\(trace) card=H00000017 pin=246810 items=A001*1@1000")
                return reply.ok ? "OK" : (reply.code ?? "?")
            }
        }
        #expect(try await settle("OUT-1") == "OK")

        try cluster.stop(mode: "immediate")
        let started = ContinuousClock.now
        let whileDown = try await MSLPClient.withConnection(host: "127.0.0.1", port: server.localPort) { connection in
            let ping = try await connection.request("PING p1")
            let signIn = try await connection.signIn(terminal: "P001-01", key: Terminals.key("P001-01"))
            guard signIn.ok else { return (ping.ok, signIn.code) }
            let settle = try await connection.request("SETTLE s1 trace=OUT-X card=H00000017 pin=246810 items=A001*1@1000")
            return (ping.ok, settle.code)
        }
        #expect(whileDown.0, "PING needs no database")
        // SIGNIN checks the key held in memory, and answers UNAVAILABLE once the front has noticed
        // that it cannot follow changes to the keys (within a fraction of a second); a SIGNIN
        // before that succeeds, and the SETTLE after it is UNAVAILABLE.
        #expect(whileDown.1 == "UNAVAILABLE")
        // Refused within the connect and pool waits, not hung (a loose bound: shared machine).
        #expect(ContinuousClock.now - started < .seconds(60), "refused, not hung")

        try cluster.start()
        var after = ""
        for _ in 0..<20 {
            after = try await settle("OUT-2")
            if after == "OK" { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(after == "OK", "the pool reconnected by itself")
        let settled = try pool.withConnection { try $0.query("SELECT count(*) FROM settlement WHERE trace LIKE 'OUT-%'").requireInt(0, 0) }
        #expect(settled == 2)
        try? await server.shutdown()
    }

    /// The connection is lost while COMMIT runs (the backend is terminated inside a deferred
    /// trigger, so the transaction does not commit): the terminal is not told "nothing was done"
    /// — the engine retries by trace, does the work once, and answers OK.
    @Test func aCommitLostInFlightIsResolvedByTrace() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let admin = try PGConnection(conninfo: engine.conninfo)
        try LostCommits.slowCommits(admin, after: "INSERT", on: "settlement")
        let reply = Task {
            try await engine.withTerminal("P001-01") { connection in
                try await connection.request("SETTLE s1 trace=LOST-1 card=\(card) pin=470291 items=A002*1@1200")
            }
        }
        let terminated = try await LostCommits.terminateWaiting(admin)
        try LostCommits.openGate(admin)
        #expect(terminated == 1)
        let answer = try await reply.value
        #expect(answer.ok, "\(answer)")
        #expect(try engine.scalar("SELECT count(*) FROM settlement WHERE trace = 'LOST-1'") == 1)
        #expect(try engine.scalar("SELECT balance FROM person WHERE id_no = $1", [idNo]) == 8800)
        await engine.stop()
    }

    /// Failover: a primary with a synchronous streaming standby, the engine given both in one
    /// multi-host URL with `target_session_attrs=read-write`, and the harness's mixed load running
    /// (`--reconnect`). The primary crashes and the standby is promoted: the engine's pool finds
    /// the new primary by itself, and the invariants hold there — every OK reply's settlement
    /// survived, and nothing else moved money.
    @Test func failoverToAPromotedStandbyUnderLoad() async throws {
        let base = NSTemporaryDirectory() + "medsettle-failover-\(UUID().uuidString.prefix(8))"
        let primary = try LocalCluster.prepare(directory: base + "/primary", durable: true)
        try primary.start()
        var standby: LocalCluster?
        defer {
            try? standby?.stop(mode: "immediate")
            try? primary.stop(mode: "immediate")
            try? FileManager.default.removeItem(atPath: base)
        }
        try DatabaseSetup.createDatabaseIfMissing(adminConninfo: primary.conninfo(), name: "medsettle")
        let secrets = TestDatabaseServer.shared.secrets
        _ = try DatabaseSetup.prepare(conninfo: primary.conninfo(database: "medsettle"), secrets: secrets,
                                      loadReferenceData: true, demoPeople: true)
        let seeding = try PGConnection(conninfo: primary.conninfo(database: "medsettle"))
        try seedLoadPopulation(seeding, terminals: 4, people: 200)
        // The base backup is taken after seeding; the standby then streams what the load writes.
        let replica = try primary.makeStandby(directory: base + "/standby", name: "standby")
        standby = replica
        try replica.start()
        let admin = try PGConnection(conninfo: primary.conninfo())
        try admin.execute("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
        _ = try admin.query("SELECT pg_reload_conf()")
        var syncState = ""
        for _ in 0..<100 where syncState != "sync" {
            let row = try admin.query("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'")
            syncState = row.rowCount == 1 ? try row.requireString(0, 0) : ""
            if syncState != "sync" { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(syncState == "sync", "every commit waits for the standby")

        let conninfo = "host=\(primary.directory),\(replica.directory) port=\(primary.port),\(replica.port) "
            + "user=\(LocalCluster.superuser) dbname=medsettle target_session_attrs=read-write"
        let pool = PGPool(conninfo: conninfo, size: 4, acquireTimeoutSeconds: 2)
        let store = try Store(pool: pool, secrets: secrets)
        let server = try await MedsettleServer.start(configuration: .forTests, store: store)
        defer { Task { await store.close(); pool.close() } }
        let configuration = LoadConfiguration.mixed(port: server.localPort, seconds: 6, people: 200, reconnect: true)
        let run = LoadRun(configuration: configuration)
        async let load: Void = run.run()
        try await Task.sleep(for: .seconds(2))
        try primary.stop(mode: "immediate")
        try replica.promote()
        try await load

        try expectNothingLost(run, conninfo: conninfo)
        let promoted = try PGConnection(conninfo: replica.conninfo(database: "medsettle"))
        #expect(try promoted.query("SELECT pg_is_in_recovery()::int").requireInt(0, 0) == 0, "the check ran on the new primary")
        // The engine carries on: a second run, started once the first is over (however long the
        // promotion took on a busy machine), is served by the new primary without an error.
        // A fixed volume (20 requests per terminal) rather than a fixed time: a machine busy with
        // builds may take seconds to connect and sign in.
        let afterwards = LoadRun(configuration: .mixed(port: server.localPort, seconds: 60, requests: 20, people: 200, reconnect: true))
        try await afterwards.run()
        let errors = (0..<60).reduce(0) { $0 + afterwards.stats.second($1).errors }
        #expect(afterwards.stats.requests > 0 && errors == 0, "the engine carried on after the failover")
        try expectNothingLost(afterwards, conninfo: conninfo)
        try? await server.shutdown()
    }
}
