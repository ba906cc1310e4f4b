import LoadHarness
import Logging
import Testing

/// A short run of the harness's hostile mix (`loadtest/hostile.sh` runs it at scale): connections
/// from two loopback addresses that never sign in — silent, trickling, flooding SIGNIN with wrong
/// macs, pipelining malformed lines — are each closed by the engine (here after a sign-in deadline
/// of 1 s), none left to the harness.
@Suite(.timeLimit(.minutes(2)))
struct HostileLoadSmokeTests {
    @Test func everyHostileConnectionIsClosedByTheEngine() async throws {
        // The flood gets its addresses blocked, which the engine logs as a warning: quiet here.
        var logger = Logger(label: "medsettle.test")
        logger.logLevel = .error
        let engine = try await TestEngine.start(signInTimeout: .seconds(1), logger: logger)
        var configuration = LoadConfiguration()
        configuration.port = engine.port
        configuration.mix = .hostile
        configuration.connections = 8
        configuration.seconds = 5  // a machine busy with other tests may open nothing in the first seconds
        configuration.sourceAddresses = ["127.0.0.2", "127.0.0.3"]
        configuration.hostilePause = .milliseconds(200)
        configuration.hostileSilentSeconds = 2
        configuration.hostileDrainSeconds = 30
        let tally = try await HostileLoad.run(configuration) { _ in }
        let total = tally.total
        #expect(tally.passed, "\(tally.summary)")
        #expect(total.notClosed == 0 && total.opened == total.closedByEngine, "\(tally.summary)")
        #expect(Set(tally.byKind.keys) == ["silent", "trickle", "signin_flood", "garbage"], "\(tally.summary)")
        #expect(engine.server.connectionCount == 0)
        await engine.stop()
    }
}
