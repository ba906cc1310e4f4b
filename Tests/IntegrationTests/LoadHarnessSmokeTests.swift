import LoadHarness
import MSLPChannel
import MedsettleServer
import MedsettleStore
import PGClient
import Testing

/// A short run of the load harness against a real engine: the mixed load — QR payments, traced
/// drugs, family members paid for, a hospital terminal's stays, and the probes — is served without
/// unexpected errors, and the database invariants hold afterwards.
// A bound against hangs, not a speed target: a machine shared with builds takes minutes here.
@Suite(.timeLimit(.minutes(5)))
struct LoadHarnessSmokeTests {
    @Test func shortMixedRunKeepsTheInvariants() async throws {
        let engine = try await TestEngine.start()
        try engine.seedLoad(terminals: 4, people: 300)
        // A fixed volume, so that every kind of request is drawn however slow the machine is today.
        let configuration = LoadConfiguration.mixed(port: engine.port, seconds: 120, requests: 400, people: 300)
        let run = LoadRun(configuration: configuration)
        try await run.run()
        let codes = run.stats.replyCodes
        #expect(run.stats.requests > 0)
        #expect(Set(codes.keys).isSubset(of: ["OK", "PIN_WRONG", "CARD_LOCKED", "REVERSED", "QR_USED", "TRACE_CODE_USED", "ADMISSION_OPEN"]),
                "\(codes)")
        #expect((0..<configuration.seconds).allSatisfy { run.stats.second($0).errors == 0 }, "refusals only where the mix expects them")
        #expect(run.stats.requestsByOperation.filter { $0.key != "qrcode" && !$0.key.hasPrefix("settle_qr_reuse") && $0.key != "settle_late_original" }
            .values.reduce(0, +) == 4 * 400, "each terminal drew its 400 requests")
        // The probes (repeats, late originals of reversed traces, PIN tries until the lock, paid QR
        // codes and sold traceability codes offered again) all answered as they must.
        #expect(Set(run.probes.passed.keys) == ["repeat", "late_original", "lockout", "qr_reuse", "code_reuse"], "\(run.probes.passed)")
        // QR payments are part of the mix: a QRCODE on the online connection, then SETTLE qr=.
        let operations = run.stats.requestsByOperation
        #expect(operations["settle_qr"] ?? 0 > 0 && operations["settle_qr"] == operations["qrcode"], "\(operations)")
        #expect(run.stats.createdQRSettlements > 0)
        // The hospital terminal's stays: fees uploaded and withdrawn, discharges and cancelled admissions.
        for stayStep in ["admit", "fees", "fees_undo", "discharge", "admit_cancel"] {
            #expect(operations[stayStep] ?? 0 > 0, "\(stayStep): \(operations)")
        }
        // Family members' claims paid from their payers' accounts; traced drugs sold.
        #expect(try engine.scalar("SELECT sum(aid) FROM settlement") ?? 0 > 0)
        #expect(try engine.scalar("SELECT count(*) FROM trace_code") ?? 0 > 0)
        try expectNothingLost(run, conninfo: engine.conninfo)
        let report = LoadReport(run: run)
        let json = try report.json()
        #expect(report.svg().hasPrefix("<svg") && !json.isEmpty)
        // Latency by verb: every verb of the mix has its own figures, and they add up to the run's.
        #expect(Set(report.verbs.keys) == ["SETTLE", "CARDINFO", "QRCODE", "REVERSE", "CANCEL", "ADMIT", "FEES", "FEESUNDO",
                                           "DISCHARGE", "ADMITCANCEL"], "\(report.verbs.keys.sorted())")
        #expect(report.verbs.values.map(\.requests).reduce(0, +) == report.requests)
        #expect(LatencyDistribution.files(of: run.stats).count == 1 + report.verbs.count)
        await engine.stop()
    }

    /// The harness drives an engine over TLS: a settle-only run, invariants green.
    @Test func settleRunOverTLS() async throws {
        let tls = try ServerTLS.context(certificatePath: OperationsTests.tlsFile("server.pem"),
                                        keyPath: OperationsTests.tlsFile("server.key"))
        let engine = try await TestEngine.start(configuration: ServerConfiguration(tls: tls))
        try engine.seedLoad(terminals: 2, people: 100)
        var configuration = LoadConfiguration()
        configuration.port = engine.port
        configuration.tls = try MSLPClientTLS.context(caPath: OperationsTests.tlsFile("ca.pem"))
        configuration.connections = 2
        configuration.seconds = 3
        configuration.people = 100
        configuration.mix = .settle
        let run = LoadRun(configuration: configuration)
        try await run.run()
        #expect(run.stats.createdSettlements > 0)
        #expect(run.stats.replyCodes.keys.sorted() == ["OK"], "\(run.stats.replyCodes)")
        try expectNothingLost(run, conninfo: engine.conninfo)
        await engine.stop()
    }

    @Test func pipelinedPingRunIsAnsweredInOrder() async throws {
        let engine = try await TestEngine.start()
        try engine.seedLoad(terminals: 2)
        var configuration = LoadConfiguration()
        configuration.port = engine.port
        configuration.connections = 4
        configuration.terminals = 2
        configuration.seconds = 1
        configuration.mix = .ping
        configuration.pipeline = 8
        let run = LoadRun(configuration: configuration)
        try await run.run()
        #expect(run.stats.requests > 0 && run.stats.requests % 8 == 0)
        #expect(run.stats.replyCodes == ["OK": Int(run.stats.requests)])
        #expect(run.stats.requestsByOperation == ["ping": Int(run.stats.requests)])
        await engine.stop()
    }

    @Test func idleConnectionsAreHeldAndStillAnswer() async throws {
        let engine = try await TestEngine.start()
        try engine.seedLoad(terminals: 3)
        var configuration = LoadConfiguration()
        configuration.port = engine.port
        configuration.connections = 60
        configuration.terminals = 3
        configuration.seconds = 1
        configuration.mix = .idle
        configuration.connectConcurrency = 8
        configuration.pingSample = 7
        let run = LoadRun(configuration: configuration)
        try await run.run()
        #expect(run.held.heldNow == 60 && run.held.failedToOpen == 0, "\(run.held.error ?? "")")
        #expect(run.held.sampledPings == 7 && run.held.answeredPings == 7)
        let report = LoadReport(run: run)
        #expect(report.idle?.held == 60)
        await engine.stop()
    }
}
