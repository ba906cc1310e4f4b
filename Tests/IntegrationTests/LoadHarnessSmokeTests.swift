import LoadHarness
import MedsettleStore
import PGClient
import Testing

/// A short run of the load harness against a real engine: the mixed load is served without
/// unexpected errors and the database invariants hold afterwards.
@Suite(.timeLimit(.minutes(2)))
struct LoadHarnessSmokeTests {
    @Test func shortMixedRunKeepsTheInvariants() async throws {
        let engine = try await TestEngine.start()
        try engine.pool.withConnection { connection in
            try Seeder.loadTerminals(connection, secrets: TestDatabaseServer.shared.secrets, count: 4)
            try Seeder.loadPeople(connection, secrets: TestDatabaseServer.shared.secrets, count: 300)
        }
        var configuration = LoadConfiguration()
        configuration.port = engine.port
        configuration.connections = 4
        configuration.seconds = 3
        configuration.people = 300
        configuration.mix = .mixed
        let run = LoadRun(configuration: configuration)
        try await run.run()
        let codes = run.stats.replyCodes
        #expect(run.stats.requests > 0)
        #expect(Set(codes.keys).isSubset(of: ["OK", "PIN_WRONG"]), "\(codes)")
        let check = try InvariantCheck.check(conninfo: engine.conninfo, runID: run.runID, okSettlements: run.stats.createdSettlements)
        #expect(check.passed, "\(check.failures)")
        let report = LoadReport(run: run)
        let json = try report.json()
        #expect(report.svg().hasPrefix("<svg") && !json.isEmpty)
        await engine.stop()
    }
}
