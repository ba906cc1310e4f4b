import ArgumentParser
import Foundation
import LoadHarness
import MSLPChannel

@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "medsettle-load",
        abstract: "Drive a medsettle engine with a realistic terminal load and check the database afterwards.",
        discussion: """
            Needs the generated population and terminals: `medsettle seed --people N --terminals C` on the \
            engine's database first. Prints a progress line every second, then the summary (with --baseline, \
            the change against an earlier report.json); writes DIR/report.json, DIR/report.svg and the latency \
            distributions DIR/latency.hgrm and DIR/latency-VERB.hgrm; with --database-url checks the invariants after a settle or \
            mixed run (exit 1 when one fails). The mixed mix also sends probes whose answers are known in \
            advance — repeats, late originals of reversed traces, PIN tries until a card locks, paid QR codes \
            offered again — on a second connection per terminal (through HAProxy, often another engine), and \
            exits 1 when one answers otherwise. The idle mix exits 1 when a connection could not be opened or \
            a sampled one did not answer its PING.
            """
    )

    @Option(help: "Engine host.") var host = "127.0.0.1"
    @Option(help: "Engine port.") var port = 7411
    @Option(help: "Terminal connections (generated terminals LOAD-P0001…).") var connections = 32
    @Option(help: "Run length in seconds (with --requests, its upper bound).") var seconds = 20
    @Option(help: "Mixed mix: each terminal stops after this many requests drawn from the mix (like pgbench -t).")
    var requests: Int?
    @Option(help: "closed (each terminal waits for its reply) or open (fixed arrival rate).") var mode = "closed"
    @Option(help: "Requests per second over all connections, open loop only.") var rate = 2_000
    @Option(help: "settle (SETTLE only), mixed, ping (PING only: the front alone), idle (sign in, then hold the connections quiet) or hostile (never sign in, mean harm).")
    var mix = "mixed"
    @Option(help: "PINGs in flight per connection, ping mix only (redis-benchmark's -P).") var pipeline = 1
    @Option(help: "Generated terminals to sign in as, in turn (default: one per connection); many connections may share one.")
    var terminals: Int?
    @Option(help: "Connections opened at once, idle mix.") var connectConcurrency = 64
    @Option(help: "Held connections that must answer a PING at the end, idle mix.") var pingSample = 100
    @Option(help: "People 1…N of `medsettle seed` to draw cardholders from.") var people = 100_000
    @Option(help: "Directory for report.json, report.svg and the .hgrm latency distributions.") var reportDir = "loadtest-report"
    @Option(help: "An earlier run's report.json: print this run's change against it (throughput, p50, p99; overall and by verb).")
    var baseline: String?
    @Option(name: .customLong("database-url"), help: "Check the invariants in this database afterwards (default: $DATABASE_URL).")
    var databaseURL: String?
    @Flag(help: "Settle and mixed loads: after a lost connection, connect again, QUERY the request in flight and go on.")
    var reconnect = false
    @Flag(help: "Settle mix: every line a traced drug, a fresh traceability code per package (what codes cost).")
    var traced = false
    @Option(help: "Hostile mix: local addresses to connect from, in turn, comma-separated (e.g. 127.0.0.2,127.0.0.3).")
    var sourceAddresses: String?
    @Option(help: "Hostile mix: seconds after the run for the engine to close every hostile connection still open.")
    var hostileDrain = 40
    @Option(help: "Hostile mix: the engine's max-line (some garbage lines are longer).") var hostileMaxLine = 16_384
    @Option(help: "Hostile mix: the kinds of connection, in turn, comma-separated (default: silent,trickle,signin_flood,garbage).")
    var hostileKinds: String?
    @Option(help: "Run nothing: check the invariants in --database-url for the run of this id, which must have made --expect-settlements settlements (a restored database, pitr.sh).")
    var checkRun: String?
    @Option(help: "With --check-run: the settlements of that run the database must hold.") var expectSettlements = 0
    @Option(help: "With --check-run: how many of them were paid by QR.") var expectQrSettlements = 0
    @Flag(help: "Speak TLS to the engine (implied by --tls-ca).") var tls = false
    @Option(help: "PEM CAs that sign the engine's certificate (default: the system's).") var tlsCa: String?
    @Option(help: "PEM client certificate, for an engine that requires one.") var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?

    func run() async throws {
        if let checkRun {
            guard let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
                throw ValidationError("--check-run needs --database-url or DATABASE_URL")
            }
            let check = try InvariantCheck.check(conninfo: url, runID: checkRun, okSettlements: expectSettlements,
                                                 okQRSettlements: expectQrSettlements)
            say(check.passed ? "invariants green: " + check.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                : "invariants FAILED: " + check.failures.joined(separator: "; "))
            if !check.passed { throw ExitCode(1) }
            return
        }
        var config = LoadConfiguration()
        config.host = host
        config.port = port
        config.reconnect = reconnect
        if tls || tlsCa != nil || tlsCert != nil {
            config.tls = try MSLPClientTLS.context(caPath: tlsCa, certificatePath: tlsCert, keyPath: tlsKey)
        }
        config.connections = connections
        config.seconds = seconds
        config.requests = requests
        guard let mode = LoadConfiguration.Mode(rawValue: mode), let mix = LoadConfiguration.Mix(rawValue: mix) else {
            throw ValidationError("--mode is closed or open; --mix is settle, mixed, ping, idle or hostile")
        }
        config.mode = mode
        config.mix = mix
        config.rate = rate
        config.people = people
        config.pipeline = pipeline
        config.terminals = terminals
        config.connectConcurrency = connectConcurrency
        config.pingSample = pingSample
        config.tracedLines = traced
        config.sourceAddresses = sourceAddresses.map { $0.split(separator: ",").map(String.init) } ?? []
        config.hostileDrainSeconds = hostileDrain
        config.hostileMaxLine = hostileMaxLine
        config.hostileKinds = hostileKinds.map { $0.split(separator: ",").map(String.init) } ?? []
        if let problem = config.problem { throw ValidationError(problem) }
        if mix == .hostile {
            let tally = try await HostileLoad.run(config, notice: { say($0) })
            try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
            try tally.json().write(to: URL(fileURLWithPath: reportDir + "/hostile.json"))
            say(tally.summary)
            if !tally.passed { throw ExitCode(1) }
            return
        }
        // Read before the run, so that a wrong path does not cost a whole run.
        var before: RunFigures?
        if let baseline {
            do { before = try RunFigures.read(path: baseline) } catch { throw ValidationError("--baseline \(baseline): \(error)") }
        }
        let run = LoadRun(configuration: config)
        try await run.run(progress: { second in
            say(String(format: "t=%3ds  %6d req/s  p50 %6.2f ms  p99 %7.2f ms  errors %d", second.second + 1, second.requests,
                         Double(second.p50Micros) / 1000, Double(second.p99Micros) / 1000, second.errors))
        }, notice: { say($0) })
        var report = LoadReport(run: run)
        var failed = false
        if mix == .settle || mix == .mixed, let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            let check = try InvariantCheck.check(conninfo: url, after: run)
            report.invariants = check.passed ? ["status": "green"] : ["status": "FAILED", "failures": check.failures.joined(separator: "; ")]
            failed = !check.passed
        }
        if run.probes.failed > 0 { failed = true }
        if let idle = report.idle, idle.failedToOpen > 0 || idle.pingsAnswered < idle.pingsSampled { failed = true }
        try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
        try report.json().write(to: URL(fileURLWithPath: reportDir + "/report.json"))
        try Data(report.svg().utf8).write(to: URL(fileURLWithPath: reportDir + "/report.svg"))
        // An earlier run's distributions of verbs this run did not send would pass for this run's.
        for old in try FileManager.default.contentsOfDirectory(atPath: reportDir) where old.hasPrefix("latency") && old.hasSuffix(".hgrm") {
            try FileManager.default.removeItem(atPath: reportDir + "/" + old)
        }
        for (name, text) in LatencyDistribution.files(of: run.stats) {
            try Data(text.utf8).write(to: URL(fileURLWithPath: reportDir + "/" + name))
        }
        say(report.summary)
        if let before, let path = baseline {
            say(BaselineComparison(now: RunFigures(report: report), before: before, baselineName: path).text)
        }
        say("report: \(reportDir)/report.json, \(reportDir)/report.svg, \(reportDir)/latency*.hgrm")
        if failed { throw ExitCode(1) }
    }
}

/// Writes a line to standard output at once, unbuffered even into a file or pipe: scripts wait
/// for the idle mix's "holding" line while the run goes on.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
