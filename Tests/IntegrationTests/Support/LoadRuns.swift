import Foundation
import LoadData
import LoadHarness
import MedsettleStore
import PGClient
import Testing

extension LoadConfiguration {
    /// The harness's mixed load (QR payments and probes included) from 4 terminals, for `seconds`
    /// or until each terminal has sent `requests`.
    static func mixed(port: Int, seconds: Int, requests: Int? = nil, people: Int, reconnect: Bool = false) -> LoadConfiguration {
        var configuration = LoadConfiguration()
        configuration.port = port
        configuration.connections = 4
        configuration.seconds = seconds
        configuration.requests = requests
        configuration.people = people
        configuration.mix = .mixed
        configuration.reconnect = reconnect
        return configuration
    }
}

/// What a run must leave behind however it was disturbed: every request in flight on a lost
/// connection resolved by QUERY, every probe answered as it must, the database invariants green.
func expectNothingLost(_ run: LoadRun, conninfo: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(run.stats.unresolvedRequests == 0, sourceLocation: sourceLocation)
    #expect(run.probes.failed == 0, "\(run.probes.failures)", sourceLocation: sourceLocation)
    let check = try InvariantCheck.check(conninfo: conninfo, after: run)
    #expect(check.passed, "\(check.failures)", sourceLocation: sourceLocation)
}

/// The harness's generated terminals (and people, when `people > 0`), through `connection`.
func seedLoadPopulation(_ connection: PGConnection, terminals: Int, people: Int = 0) throws {
    let secrets = TestDatabaseServer.shared.secrets
    try LoadSeeder.loadTerminals(connection, secrets: secrets, count: terminals)
    if people > 0 { try LoadSeeder.loadPeople(connection, secrets: secrets, count: people) }
}

extension TestEngine {
    /// The harness's generated terminals and people on this engine's database, once this front
    /// holds the new terminals (it hears of them by NOTIFY, within milliseconds).
    func seedLoad(terminals: Int, people: Int = 0) throws {
        try pool.withConnection { try seedLoadPopulation($0, terminals: terminals, people: people) }
        let ids = (1...terminals).flatMap { [LoadTestData.terminal($0), LoadTestData.hospitalTerminal($0)] } + [LoadTestData.onlineTerminal]
        for _ in 0..<500 where !ids.allSatisfy({ store.reference.credentials($0) != nil }) {
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
}
