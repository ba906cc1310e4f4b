import Foundation
import LoadHarness
import Logging
import MedsettleStore
import MSLP
import MSLPChannel
import MedsettleServer
import NIOCore
import NIOPosix
import NIOSSL
import PGClient
import Prometheus
import Synchronization
import Testing

/// Running it in production: TLS, metrics, logs, limits, graceful shutdown.
@Suite struct OperationsTests {
    static let tlsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("TLS").path
    static func tlsFile(_ name: String) -> String { tlsDirectory + "/" + name }

    static func serverTLS(requireClientCertificates: Bool = false) throws -> NIOSSLContext {
        try ServerTLS.context(certificatePath: tlsFile("server.pem"), keyPath: tlsFile("server.key"),
                              clientCAPath: requireClientCertificates ? tlsFile("ca.pem") : nil)
    }

    @Test func aSettlementOverTLS() async throws {
        let plain = try await TestEngine.start()
        let (_, card) = try await plain.newCardholder(credit: 10_000)
        let engine = try await TestEngine.start(configuration: ServerConfiguration(lineTimeout: .milliseconds(500), tls: try Self.serverTLS()),
                                                sharing: plain)
        let tls = try Self.clientTLS()
        let reply = try await MSLPClient.withConnection(host: "127.0.0.1", port: engine.port, tls: tls) { connection in
            _ = try await connection.signIn(terminal: "P001-01", key: Terminals.key("P001-01"))
            return try await connection.request("SETTLE s1 trace=TLS-1 card=\(card) pin=470291 items=A002*1@1200")
        }
        #expect(reply.ok && reply.value("account") == "1200")
        // Plain TCP to a TLS listener gets no greeting, and is closed at the handshake deadline.
        await #expect(throws: (any Error).self) {
            try await MSLPClient.withConnection(host: "127.0.0.1", port: engine.port) { _ in }
        }
        await engine.stop()
        await plain.stop()
    }

    static func clientTLS(withCertificate: Bool = false) throws -> NIOSSLContext {
        try MSLPClientTLS.context(caPath: tlsFile("ca.pem"),
                                  certificatePath: withCertificate ? tlsFile("client.pem") : nil,
                                  keyPath: withCertificate ? tlsFile("client.key") : nil)
    }

    @Test func clientCertificatesWhenRequired() async throws {
        let engine = try await TestEngine.start(configuration: ServerConfiguration(tls: try Self.serverTLS(requireClientCertificates: true)))
        let ok = try await MSLPClient.withConnection(host: "127.0.0.1", port: engine.port, tls: try Self.clientTLS(withCertificate: true)) {
            try await $0.request("PING p1").ok
        }
        #expect(ok)
        await #expect(throws: (any Error).self) {
            try await MSLPClient.withConnection(host: "127.0.0.1", port: engine.port, tls: try Self.clientTLS()) { connection in
                _ = try await connection.request("PING p1")
            }
        }
        await engine.stop()
    }

    @Test func metricsEndpointShowsTheTraffic() async throws {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let engine = try await TestEngine.start(metrics: ServerMetrics(factory: factory))
        let endpoint = try await TestAdmin.start(engine: engine, routes: .monitoring, registry: registry)
        let (_, card) = try await engine.newCardholder(credit: 10_000)
        let settled = try await engine.withTerminal("P001-01") { connection in
            let reply = try await connection.request("SETTLE s1 trace=M-1 card=\(card) pin=470291 items=A002*2@1200")
            for attempt in 1...6 {
                _ = try await connection.request("CARDINFO c\(attempt) card=\(card) pin=000000")
            }
            return reply.ok
        }
        #expect(settled)
        let answer = try await endpoint.request("/metrics")
        #expect(answer.status == 200 && answer.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = answer.text
        #expect(text.contains(#"medsettle_requests_total{verb="SETTLE",code="OK"} 1"#))
        #expect(text.contains(#"medsettle_requests_total{verb="CARDINFO",code="PIN_WRONG"} 5"#))
        #expect(text.contains(#"medsettle_requests_total{verb="CARDINFO",code="CARD_LOCKED"} 1"#))
        #expect(text.contains(#"medsettle_request_duration_seconds_count{verb="SETTLE"} 1"#))
        #expect(text.contains(#"medsettle_settlements_total{kind="pharmacy"} 1"#))
        #expect(text.contains(#"medsettle_settled_fen_total{kind="pharmacy"} 2400"#))
        #expect(text.contains("medsettle_card_locks_total 1"))
        #expect(text.contains("medsettle_connections_open "))
        #expect(try await endpoint.request("/other").status == 404)
        await endpoint.stop()
        await engine.stop()
    }

    @Test func connectionsPastTheLimitAreRefusedWhileOthersSettle() async throws {
        let engine = try await TestEngine.start(configuration: ServerConfiguration(maxConnections: 3))
        let (_, card) = try await engine.newCardholder(credit: 10_000)
        try await engine.withTerminal("P001-01") { settling in
            try await MSLPClient.withConnection(host: "127.0.0.1", port: engine.port) { _ in
                try await MSLPClient.withConnection(host: "127.0.0.1", port: engine.port) { _ in
                    // The 4th connection: refused with a clear line, before any greeting.
                    let refused = try await RawConnection.open(port: engine.port)
                    let line = try await refused.readLine()
                    #expect(line == "* ERR BUSY msg=too%20many%20connections")
                    #expect(try await refused.readLine() == nil)
                    let reply = try await settling.request("SETTLE s1 trace=LIM-1 card=\(card) pin=470291 items=A002*1@1200")
                    #expect(reply.ok)
                }
            }
        }
        await engine.stop()
    }

    @Test func aSlowLineIsCutOffAtItsDeadline() async throws {
        let engine = try await TestEngine.start(configuration: ServerConfiguration(lineTimeout: .milliseconds(400)))
        let client = try await RawConnection.open(port: engine.port)
        #expect(try await client.readLine()?.hasPrefix("* HELLO") == true)
        let started = ContinuousClock.now
        // One byte every 100 ms: each is progress, but the line as a whole is late.
        for byte in "PING slow".utf8 {
            try await client.send([byte])
            try await Task.sleep(for: .milliseconds(100))
            if !client.isOpen { break }
        }
        #expect(try await client.readLine() == "* ERR BAD_REQUEST msg=request%20line%20not%20completed%20within%20400%20ms")
        #expect(try await client.readLine() == nil)
        // Cut off by the line deadline, not by the 300 s idle timeout (a loose bound: shared machine).
        #expect(ContinuousClock.now - started < .seconds(60))
        // A complete line in time is answered as usual.
        let prompt = try await RawConnection.open(port: engine.port)
        _ = try await prompt.readLine()
        try await prompt.send(Array("PING p1\n".utf8))
        #expect(try await prompt.readLine() == "p1 OK")
        await engine.stop()
    }

    @Test func anIdleConnectionIsClosed() async throws {
        let engine = try await TestEngine.start(configuration: ServerConfiguration(idleTimeout: .milliseconds(1500)))
        let client = try await RawConnection.open(port: engine.port)
        _ = try await client.readLine()
        try await client.send(Array("PING p1\n".utf8))
        var lines: [String] = []
        while let line = try await client.readLine() { lines.append(line) }
        // On a loaded machine the PING may come after the idle deadline: then it is not answered.
        let idle = "* ERR BUSY msg=closing%20a%20connection%20idle%20for%201500%20ms"
        #expect(lines == ["p1 OK", idle] || lines == [idle], "\(lines)")
        await engine.stop()
    }

    /// Graceful shutdown in the middle of a pipelined batch: every request the server read is
    /// answered, the rest are not started, and the database holds exactly the answered settlements.
    @Test func drainAnswersEveryRequestReadAndNothingElse() async throws {
        let engine = try await TestEngine.start()
        var cards: [String] = []
        for _ in 0..<4 { cards.append(try await engine.newCardholder(credit: 1_000_000).1) }
        let client = try await RawConnection.open(port: engine.port)
        _ = try await client.readLine()
        let mac = Greeting.hex(MAC.hmacSHA256(key: Terminals.key("P001-01"),
                                              message: Array("\(client.challenge!):P001-01".utf8)))
        try await client.send(Array("SIGNIN a0 terminal=P001-01 mac=\(mac)\n".utf8))
        #expect(try await client.readLine()?.hasPrefix("a0 OK") == true)
        let count = 300
        var batch = ""
        for i in 0..<count {
            batch += "SETTLE t\(i) trace=DR-\(i) card=\(cards[i % 4]) pin=470291 items=A002*1@1200\n"
        }
        try await client.send(Array(batch.utf8))
        // Drain once the server is at work on the batch (its first reply is out).
        var replies: [String] = [try #require(try await client.readLine())]
        let drained = Task { await engine.server.drain(grace: .seconds(60)) }
        while let line = try await client.readLine() { replies.append(line) }
        await client.close()
        #expect(await drained.value)
        let answered = replies.filter { !$0.hasPrefix("*") }
        #expect(answered.count > 0)
        for (index, line) in answered.enumerated() {
            #expect(line.hasPrefix("t\(index) OK settlement="), "reply \(index): \(line)")
        }
        if answered.count < count { #expect(replies.last == "* ERR UNAVAILABLE msg=the%20engine%20is%20shutting%20down") }
        #expect(try engine.scalar("SELECT count(*) FROM settlement WHERE trace LIKE 'DR-%'") == Int64(answered.count))
        #expect(try engine.scalar("SELECT count(*) FROM trace WHERE trace LIKE 'DR-%'") == Int64(answered.count))
        await engine.stop()
    }

    @Test func requestLogsCarryNoSecrets() async throws {
        let lines = LogLines()
        let logger = Logger(label: "medsettle.server") { label in
            KeyValueLogHandler(label: label, level: .info) { lines.append($0) }
        }
        let engine = try await TestEngine.start(logger: logger)
        let (_, card) = try await engine.newCardholder(credit: 10_000, pin: "864213")
        let settled = try await engine.withTerminal("P001-01") { connection in
            try await connection.request("SETTLE s9 trace=LOG-1 card=\(card) pin=864213 items=A002*1@1200").ok
        }
        #expect(settled)
        let all = lines.all
        let settle = try #require(all.first { $0.contains("verb=SETTLE") })
        for field in ["terminal=P001-01", "institution=P001", "tag=s9", "code=OK", "latency_us="] {
            #expect(settle.contains(field), "\(field) in \(settle)")
        }
        #expect(!all.contains { $0.contains("864213") || $0.contains("123456") || $0.contains("mac=") })
        await engine.stop()
    }
}

/// Log lines captured from a `KeyValueLogHandler`.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A bare TCP client that reads LF-terminated lines, for tests that must control every byte.
final class RawConnection: @unchecked Sendable {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var pending: [UInt8] = []
    private(set) var challenge: String?
    private(set) var isOpen = true

    private init(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
        self.iterator = channel.inbound.makeAsyncIterator()
    }

    /// - Parameter source: the local address to connect from (another loopback address, such as
    ///   127.0.0.2, is another client address to the engine).
    static func open(port: Int, from source: String? = nil) async throws -> RawConnection {
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawConnection(channel)
    }

    /// NIOAsyncChannel insists that its writer is finished before it goes away.
    deinit {
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }

    func close() async {
        channel.outbound.finish()
        try? await channel.channel.close()
    }

    func send(_ bytes: [UInt8]) async throws {
        do {
            try await channel.outbound.write(ByteBuffer(bytes: bytes))
        } catch {
            isOpen = false
        }
    }

    /// The next line without its LF, or nil once the server closed.
    func readLine() async throws -> String? {
        while true {
            if let lf = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<lf], as: UTF8.self)
                pending.removeSubrange(...lf)
                if line.hasPrefix("* HELLO"), let range = line.range(of: "challenge=") {
                    challenge = String(line[range.upperBound...])
                }
                return line
            }
            let chunk: ByteBuffer?
            do { chunk = try await iterator.next() } catch { chunk = nil }
            guard let chunk else {
                isOpen = false
                return nil
            }
            pending += chunk.readableBytesView
        }
    }
}

/// The real process: `medsettle serve` gets SIGTERM while a pipelined batch is in flight.
@Suite struct ServeProcessTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../.build/debug/medsettle").standardized.path

    /// A sign-in deadline of 10 minutes, as `TestEngine` has (why: `TestEngine.start`).
    static let patientSignIn = ["--signin-timeout", "600"]

    @Test func sigtermAnswersEveryRequestReadAndExitsZero() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "build the medsettle executable first (swift build)")
        let engine = try await TestEngine.start()
        var cards: [String] = []
        for _ in 0..<4 { cards.append(try await engine.newCardholder(credit: 1_000_000).1) }
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--database-url", engine.conninfo,
                             "--log-level", "warning", "--shutdown-grace", "20", "--demo-database"] + Self.patientSignIn
        process.environment = ["MEDSETTLE_SECRET": TestDatabaseServer.secretHex, "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var client: RawConnection?
        for _ in 0..<100 {
            if let connection = try? await RawConnection.open(port: port) { client = connection; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let connection = try #require(client)
        _ = try await connection.readLine()
        let mac = Greeting.hex(MAC.hmacSHA256(key: Terminals.key("P002-01"), message: Array("\(connection.challenge!):P002-01".utf8)))
        try await connection.send(Array("SIGNIN a0 terminal=P002-01 mac=\(mac)\n".utf8))
        #expect(try await connection.readLine()?.hasPrefix("a0 OK") == true)
        let count = 400
        var batch = ""
        for i in 0..<count { batch += "SETTLE t\(i) trace=SIG-\(i) card=\(cards[i % 4]) pin=470291 items=A002*1@1200\n" }
        try await connection.send(Array(batch.utf8))
        // SIGTERM once the engine is at work on the batch (its first reply is out).
        var replies: [String] = [try #require(try await connection.readLine())]
        kill(process.processIdentifier, SIGTERM)
        while let line = try await connection.readLine() { replies.append(line) }
        await connection.close()
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(process.terminationStatus == 0)
        let answered = replies.filter { !$0.hasPrefix("*") }
        #expect(answered.count > 0)
        for (index, line) in answered.enumerated() { #expect(line.hasPrefix("t\(index) OK settlement="), "\(line)") }
        #expect(try engine.scalar("SELECT count(*) FROM settlement WHERE trace LIKE 'SIG-%'") == Int64(answered.count))
        await engine.stop()
    }

    /// `serve --log-file`: the request lines go to the file through the log writer; after
    /// logrotate's rename, SIGHUP makes the engine write to a new file at the path; SIGTERM's stop
    /// ends with every line written, the last one saying so.
    @Test func serveLogsToAFileReopenedOnSIGHUPAndWrittenToTheEndOnSIGTERM() async throws {
        let engine = try await TestEngine.start()
        let directory = NSTemporaryDirectory() + "medsettle-log-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/medsettle.log"
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--database-url", engine.conninfo, "--demo-database",
                             "--log-level", "info", "--log-file", path] + Self.patientSignIn
        process.environment = ["MEDSETTLE_SECRET": TestDatabaseServer.secretHex, "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        func ping(_ tag: String) async throws {
            let reply = try await MSLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
                try await connection.request("PING \(tag)")
            }
            #expect(reply.ok)
        }
        func log(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        func waitFor(_ text: String, in path: String) async throws {
            for _ in 0..<600 where !log(path).contains(text) { try await Task.sleep(for: .milliseconds(50)) }
        }
        var listening = false
        for _ in 0..<100 where !listening {
            listening = (try? await RawConnection.open(port: port)) != nil
            if !listening { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(listening)
        try await ping("before")
        try await waitFor("tag=before", in: path)
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        kill(process.processIdentifier, SIGHUP)
        // Lines logged before the writer reopens may still go to the renamed file: ping until one
        // reaches the new file.
        for attempt in 0..<100 where !log(path).contains("verb=PING") {
            try await ping("after\(attempt)")
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(log(path + ".1").contains("tag=before terminal=- verb=PING"), "\(log(path + ".1"))")
        let current = log(path)
        #expect(current.contains("verb=PING") && !current.contains("tag=before"), "\(current)")
        #expect(current.hasSuffix("notice medsettle \"stopped: every request read was answered\"\n"), "\(current)")
        await engine.stop()
    }

    /// `medsettle serve` on `port` against `conninfo`, started and listening.
    /// - Parameter demoDatabase: the database holds the demo data set's terminals (published keys).
    /// - Parameter arguments: more flags (TLS, metrics, …).
    static func startServe(port: Int, conninfo: String,
                           environment: [String: String] = ["MEDSETTLE_SECRET": TestDatabaseServer.secretHex, "PATH": "/usr/bin:/bin"],
                           demoDatabase: Bool = true, arguments: [String] = [])
        async throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--database-url", conninfo, "--log-level", "critical"]
            + (demoDatabase ? ["--demo-database"] : []) + patientSignIn + arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if let probe = try? await RawConnection.open(port: port) {
                await probe.close()
                return process
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("medsettle serve did not start listening")
    }

    /// The short form of loadtest/chaos.sh: the engine is killed (SIGKILL) under the mixed load and
    /// started again; terminals reconnect and QUERY what they had in flight, and the database
    /// invariants hold — every OK has its settlement and nothing else has one.
    @Test func engineKilledUnderLoadLosesNothing() async throws {
        let engine = try await TestEngine.start()
        try engine.seedLoad(terminals: 4, people: 200)
        let port = try freePort()
        var serve = try await Self.startServe(port: port, conninfo: engine.conninfo)
        // Long enough that the kill lands inside the run on a machine busy with builds.
        let run = LoadRun(configuration: .mixed(port: port, seconds: 12, people: 200, reconnect: true))
        let before = try engine.scalar("SELECT count(*) FROM settlement") ?? 0
        async let load: Void = run.run()
        // Kill it once the load is settling (not after a fixed sleep: a loaded machine starts slowly).
        for _ in 0..<500 where try engine.scalar("SELECT count(*) FROM settlement") ?? 0 <= before {
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(serve.processIdentifier, SIGKILL)
        serve.waitUntilExit()
        serve = try await Self.startServe(port: port, conninfo: engine.conninfo)
        try await load
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(run.stats.connectionsClosedByServer > 0)
        try expectNothingLost(run, conninfo: engine.conninfo)
        await engine.stop()
    }

    /// Two fronts (two `medsettle serve` processes) on one database keep one truth: what one front
    /// did, the other answers by — a repeat, a reversal's block, the wrong-PIN count and the lock,
    /// a paid QR code. (loadtest/fronts.sh sends the same probes under load through HAProxy.)
    @Test func twoFrontsKeepOneTruth() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let (_, lockCard) = try await engine.newCardholder()
        let a = try freePort(), b = try freePort()
        let frontA = try await Self.startServe(port: a, conninfo: engine.conninfo)
        let frontB = try await Self.startServe(port: b, conninfo: engine.conninfo)
        defer {
            for front in [frontA, frontB] { front.terminate(); front.waitUntilExit() }
        }
        func on(_ port: Int, as terminal: String = "P001-01", _ line: String) async throws -> ReplyLine {
            try await MSLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
                let signIn = try await connection.signIn(terminal: terminal, key: Terminals.key(terminal))
                guard signIn.ok else { throw TestFailure("sign-in as \(terminal): \(signIn)") }
                return try await connection.request(line)
            }
        }

        let settle = "SETTLE s trace=TF-1 card=\(card) pin=470291 items=A002*1@1200"
        let first = try await on(a, settle)
        let again = try await on(b, settle)
        #expect(first.ok && first.value("repeat") == nil)
        #expect(again.ok && again.value("repeat") == "1" && again.value("settlement") == first.value("settlement"))

        let reverse = try await on(b, "REVERSE r trace=TF-2")
        #expect(reverse.ok && reverse.value("state") == "blocked")
        let late = try await on(a, "SETTLE s trace=TF-2 card=\(card) pin=470291 items=A002*1@1200")
        #expect(late.code == "REVERSED")

        var tries: [String] = []
        for attempt in 0..<6 {
            let reply = try await on(attempt % 2 == 0 ? a : b, "CARDINFO c card=\(lockCard) pin=000000")
            tries.append(reply.code == "PIN_WRONG" ? "left=\(reply.value("left") ?? "?")" : reply.code ?? "OK")
        }
        #expect(tries == ["left=5", "left=4", "left=3", "left=2", "left=1", "CARD_LOCKED"])
        let rightPIN = try await on(b, "CARDINFO c card=\(lockCard) pin=470291")
        #expect(rightPIN.code == "CARD_LOCKED")

        let code = try await on(a, as: "O001-01", "QRCODE q card=\(card)")
        let token = try #require(code.value("qr"))
        let paid = try await on(b, "SETTLE s trace=TF-3 qr=\(token) items=A002*1@1200")
        let offeredAgain = try await on(a, "SETTLE s trace=TF-4 qr=\(token) items=A002*1@1200")
        #expect(paid.ok && offeredAgain.code == "QR_USED")

        #expect(try engine.scalar("SELECT balance FROM person WHERE id_no = $1", [idNo]) == 7600)
        #expect(try engine.scalar("SELECT count(*) FROM settlement WHERE trace LIKE 'TF-%'") == 2)
        await engine.stop()
    }

    /// Every setting is declared once (`MedsettleSettings.all`) and its flag is made from it:
    /// `config print --help` lists a flag for every setting but the secrets kept off command lines,
    /// and every flag given wins over the environment, the config file and the default.
    @Test func everySettingHasItsFlagAndEveryFlagItsSetting() throws {
        let help = try Self.run(["config", "print", "--help"]).output
        let flags = help.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  --") else { return nil }
            return String(line.dropFirst(4).prefix { $0.isLetter || $0 == "-" })
        }.filter { $0 != "config" && $0 != "version" } // --config names the file; --version is ArgumentParser's
        #expect(flags.count > 10, "\(help)")
        let toggles: Set = ["insecure", "demo-database"]
        let arguments = flags.flatMap { toggles.contains($0) ? ["--\($0)"] : ["--\($0)", "7"] }
        let printed = try Self.run(["config", "print"] + arguments).output
            .components(separatedBy: "\n\n")[0].split(separator: "\n").map { $0.split(separator: " ") }
        let sources = Dictionary(printed.compactMap { words in words.count >= 3 ? (String(words[0]), String(words.last!)) : nil },
                                 uniquingKeysWith: { first, _ in first })
        let offTheCommandLine: Set = ["secret", "qr-secret", "qr-secret-previous"]
        #expect(Set(sources.keys).subtracting(offTheCommandLine) == Set(flags), "settings \(sources.keys.sorted()) vs flags \(flags)")
        for flag in flags { #expect(sources[flag] == "(flag)", "--\(flag) given but \(flag) comes from \(sources[flag] ?? "nowhere")") }
    }

    /// A setting a command does not read is refused on its command line, before it connects
    /// anywhere: `--pool-size` on a command that opens no pool would do nothing.
    @Test func aFlagACommandDoesNotReadIsRefused() throws {
        let report = try Self.run(["report", "daily", "--date", "20261129", "--pool-size", "3"])
        #expect(report.status != 0)
        #expect(report.error.contains("medsettle report daily does not take --pool-size"), "\(report.error)")
        let migrate = try Self.run(["migrate", "--listen", "127.0.0.1:1"])
        #expect(migrate.status != 0 && migrate.error.contains("medsettle migrate does not take --listen"), "\(migrate.error)")
    }

    /// Both secret variables set, to different secrets: `seed` seals the terminal keys under the
    /// one `serve` opens them with (MEDSETTLE_SECRET_FILE wins for both), so a fixture terminal
    /// signs in; `config print` names the winner and warns about the other. `migrate` before it
    /// makes the schema alone: no institution, no terminal.
    @Test func migrateAndServeAgreeOnTheSecret() async throws {
        let engine = try await TestEngine.start()
        let name = "medsettle_secret_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        try PGConnection(conninfo: engine.conninfo).execute("CREATE DATABASE \(name)")
        let conninfo = TestDatabaseServer.conninfo(engine.conninfo, database: name)
        let secretFile = NSTemporaryDirectory() + "\(name).hex"
        try (String(repeating: "a1", count: 32) + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        let environment = ["MEDSETTLE_SECRET_FILE": secretFile, "MEDSETTLE_SECRET": String(repeating: "b2", count: 32),
                           "DATABASE_URL": conninfo, "PATH": "/usr/bin:/bin"]

        let migrate = try Self.run(["migrate"], environment: environment)
        #expect(migrate.status == 0, "\(migrate.error)")
        let database = try PGConnection(conninfo: conninfo)
        #expect(try database.query("SELECT (SELECT count(*) FROM terminal) + (SELECT count(*) FROM institution)").int64(0, 0) == 0)
        let seed = try Self.run(["seed", "--people", "1", "--terminals", "1"], environment: environment)
        #expect(seed.status == 0, "\(seed.error)")
        #expect(seed.error.contains("hold different secrets; secret-file is used"), "\(seed.error)")
        let printed = try Self.run(["config", "print"], environment: environment).output
        #expect(printed.contains("server secret: secret-file \(secretFile) (environment MEDSETTLE_SECRET_FILE)"), "\(printed)")
        #expect(printed.contains("warning: secret-file (environment MEDSETTLE_SECRET_FILE) and secret (environment MEDSETTLE_SECRET) hold different secrets"))

        let port = try freePort()
        let serve = try await Self.startServe(port: port, conninfo: conninfo, environment: environment)
        defer { serve.terminate(); serve.waitUntilExit() }
        let signIn = try await MSLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
            try await connection.signIn(terminal: "P001-01", key: Terminals.key("P001-01"))
        }
        #expect(signIn.ok, "\(signIn)")
        await engine.stop()
    }

    /// Runs the built `medsettle` to its end: exit status, standard output and standard error.
    static func run(_ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"]) throws
        -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = environment
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Standard error is small here; read it after standard output is closed.
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// A port that was free a moment ago (bind to 0, read it, close).
    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                guard bind(fd, raw, length) == 0, getsockname(fd, raw, &length) == 0 else { throw TestFailure("no free port") }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
