import LoadData
import Foundation
import Synchronization
import MSLP
import MSLPChannel
import MedsettleStore
import NIOCore
import NIOPosix

/// Drives one load run: `connections` terminals (the generated LOAD-P… pharmacies), each on its
/// own connection, sending the configured mix until the time is up.
public struct LoadRun: Sendable {
    public let configuration: LoadConfiguration
    public let stats: LoadStats
    /// How the idle mix's connections fared (counts stay 0 for the other mixes).
    public let held = HeldConnections()
    /// Prefix of every trace of this run, so its settlements can be told apart afterwards.
    public let runID: String
    /// The mixed load's probes (`Probes.swift`): answers known in advance.
    public let probes = ProbeTally()

    public init(configuration: LoadConfiguration) {
        precondition(configuration.problem == nil, configuration.problem ?? "")
        self.configuration = configuration
        self.stats = LoadStats(seconds: configuration.seconds)
        self.runID = "R" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// Runs to the end; `progress` is called once a second with the second just finished (not in
    /// the idle mix), `notice` with news worth a line (the idle mix's "holding N connections").
    public func run(progress: @escaping @Sendable (LoadStats.Second) -> Void = { _ in },
                    notice: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        if configuration.mix == .idle {
            try await IdleHold(run: self).run(notice: notice)
            return
        }
        let start = ContinuousClock.now
        let deadline = start + .seconds(configuration.seconds)
        let recorder = ReplyRecorder(stats: stats, start: start)
        defer { stats.noteFinished(after: ContinuousClock.now - start) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for second in 0..<configuration.seconds {
                    do { try await Task.sleep(until: start + .seconds(second + 1), clock: .continuous) } catch { return }
                    progress(stats.second(second))
                }
            }
            try await runTerminals(start: start, deadline: deadline, recorder: recorder)
            // A run by volume may end early; a run by time reports its last second too.
            if configuration.requests != nil { group.cancelAll() }
        }
    }

    /// The configured mix's terminals, until the deadline (or, mixed, their `requests`).
    private func runTerminals(start: ContinuousClock.Instant, deadline: ContinuousClock.Instant, recorder: ReplyRecorder) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            if configuration.mix == .ping {
                group.addTask { try await PingLoad(configuration: configuration, recorder: recorder, deadline: deadline).run() }
            } else if configuration.mix == .settle, configuration.mode == .closed, !configuration.reconnect {
                let runID = self.runID
                group.addTask {
                    try await SettleLoad(configuration: configuration, runID: runID, recorder: recorder, deadline: deadline).run()
                }
            } else {
                for worker in 0..<configuration.connections {
                    group.addTask { try await self.work(worker, start: start, deadline: deadline, recorder: recorder) }
                }
            }
            try await group.waitForAll()
        }
    }

    /// One terminal of the settle or mixed load, on its own connection. When the connection is
    /// lost (the engine or its database restarted, a front died) the terminal either stops
    /// (counted as closed by the server) or, with `reconnect`, does what a real terminal must:
    /// connects again, learns the fate of the request it had in flight with `QUERY trace=…`, and
    /// carries on until the deadline.
    private func work(_ worker: Int, start: ContinuousClock.Instant, deadline: ContinuousClock.Instant, recorder: ReplyRecorder) async throws {
        var state = WorkerState(worker: worker, runID: runID, configuration: configuration)
        var unresolved: Operation?
        let terminal = configuration.terminalName(forConnection: worker)
        // A request whose fate is unknown is resolved even past the deadline (for a while): a
        // restart that ends the run's time must not leave it uncounted.
        let resolveBy = deadline + .seconds(20)
        while (ContinuousClock.now < deadline && state.sequence < configuration.requests ?? Int.max)
            || (unresolved != nil && configuration.reconnect && ContinuousClock.now < resolveBy) {
            let inFlight = InFlight()
            var connected = false
            do {
                try await signedIn(asTerminal: terminal) { connection in
                    connected = true
                    if let lost = unresolved {
                        try await resolve(lost, on: connection, state: &state)
                        unresolved = nil
                    }
                    if configuration.mix == .mixed {
                        // QR payments need a QRCODE, which only an online terminal may ask for: the
                        // holder's app back end, on its own connection beside the pharmacy's. The
                        // probes need the terminal's second connection.
                        try await signedIn(asTerminal: LoadTestData.onlineTerminal) { app in
                            try await signedIn(asTerminal: terminal) { side in
                                let probes = ProbeRunner(main: connection, side: side, recorder: recorder, tally: self.probes, inFlight: inFlight)
                                try await drive(connection, app: app, probes: probes, &state, inFlight, start: start, deadline: deadline, recorder: recorder)
                            }
                        }
                    } else {
                        try await drive(connection, app: nil, probes: nil, &state, inFlight, start: start, deadline: deadline, recorder: recorder)
                    }
                }
                return
            } catch {
                guard Self.isConnectionLoss(error) else { throw error }
                if connected { stats.noteClosedByServer() } else { stats.noteFailedConnect() }
                unresolved = unresolved ?? inFlight.operation
                if inFlight.operation?.kind == .ownCardPIN { state.ownCardMaybeOneMore = true }
                state.abandonStay() // where it stands is not known: the next stay is another's
                guard configuration.reconnect else { return }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        if unresolved != nil { stats.noteUnresolved() }
    }

    /// A SETTLE whose fate is not known — in flight when its connection was lost, or answered
    /// `BUSY` because its commit's connection was lost — is asked after with QUERY, again while
    /// the answer is an outage's (the database coming back), as PROTOCOL.md advises a terminal.
    private func resolve(_ operation: Operation, on connection: MSLPConnection, state: inout WorkerState) async throws {
        guard operation.kind.isSettle else { return } // other requests create no settlement row
        let deadline = ContinuousClock.now + .seconds(30)
        var reply = try await connection.request("QUERY \(state.nextTag()) trace=\(operation.trace)")
        while ProbeRunner.isOutage(reply), ContinuousClock.now < deadline {
            try await Self.pauseAfterOutage()
            reply = try await connection.request("QUERY \(state.nextTag()) trace=\(operation.trace)")
        }
        guard reply.ok, let settled = reply.value("state") else {
            stats.noteUnresolved()
            return
        }
        if settled != "unknown" {
            stats.noteResolvedSettlement(byQR: operation.kind == .settleByQR)
            if settled == "settled", let settlement = reply.value("settlement") {
                state.settled(operation, settlement: settlement)
            }
        }
    }

    /// A connection that went away under the terminal, or could not be made (the engine is
    /// restarting).
    static func isConnectionLoss(_ error: any Error) -> Bool {
        if error is SignInDuringOutage { return true }
        if error is MSLPConnection.Closed || error is IOError || error is NIOConnectionError { return true }
        if let error = error as? ChannelError { return error == .ioOnClosedChannel || error == .outputClosed || error == .eof }
        return false
    }

    /// Connects, signs in as a generated terminal (recording the SIGNIN if given a recorder) and
    /// runs `body` on the connection.
    func signedIn<Result: Sendable>(asTerminal terminal: String, recorder: ReplyRecorder? = nil,
                                    _ body: (MSLPConnection) async throws -> Result) async throws -> Result {
        try await MSLPClient.withConnection(host: configuration.host, port: configuration.port, tls: configuration.tls) { connection in
            let sentAt = ContinuousClock.now
            let signIn = try await connection.signIn(terminal: terminal, key: LoadTestData.terminalKey(terminal))
            recorder?.record(.signIn, signIn, sentAt: sentAt)
            // The database out of reach (a failover, a restart): like a lost connection, worth another try.
            if ProbeRunner.isOutage(signIn) { throw SignInDuringOutage() }
            guard signIn.ok else { throw LoadError("sign-in as \(terminal) failed: \(signIn.message ?? "?") (run `medsettle seed`)") }
            return try await body(connection)
        }
    }

    /// The settle and mixed loads on one terminal's connection; `app` is the online connection
    /// that asks for payment QR codes (mixed only). `inFlight` holds the request sent and not yet
    /// answered, for `work` to resolve if the connection is lost.
    private func drive(_ connection: MSLPConnection, app: MSLPConnection?, probes: ProbeRunner?, _ state: inout WorkerState, _ inFlight: InFlight,
                       start: ContinuousClock.Instant, deadline: ContinuousClock.Instant, recorder: ReplyRecorder) async throws {
        let worker = state.worker
        // Open loop: this connection's share of the rate, sent on a fixed schedule.
        let interval: Duration = .nanoseconds(Int64(1_000_000_000) * Int64(configuration.connections) / Int64(max(1, configuration.rate)))
        var scheduled = start + interval * Double(worker) / Double(configuration.connections)
        while ContinuousClock.now < deadline && state.sequence < configuration.requests ?? Int.max {
            var sentAt: ContinuousClock.Instant
            if configuration.mode == .open {
                if scheduled > ContinuousClock.now { try await Task.sleep(until: scheduled, clock: .continuous) }
                sentAt = scheduled
                scheduled += interval
                if sentAt >= deadline { break }
            } else {
                sentAt = .now
            }
            let op = state.next(configuration)
            if let probe = op.probe {
                guard let probes else { preconditionFailure("probes are drawn in the mixed mix only") }
                if try await probes.run(op, probe, &state, sentAt: sentAt) { try await Self.pauseAfterOutage() }
                continue
            }
            var line = op.line
            if let card = op.qrCard, let app {
                let qr = try await app.request("QRCODE \(state.nextTag()) card=\(card)")
                recorder.record(.qrCode, qr, sentAt: sentAt)
                guard let token = qr.value("qr") else { continue }
                line += " qr=" + PercentCoding.encode(token)
                sentAt = .now
            }
            inFlight.operation = op
            let reply = try await connection.request(line)
            // `*`: the engine is closing the connection (a graceful stop); the request was not read.
            if reply.tag == "*" { throw MSLPConnection.Closed() }
            inFlight.operation = nil
            if op.kind.isSettle, reply.ok, let settlement = reply.value("settlement") {
                state.settled(op, settlement: settlement)
            }
            state.stayAnswered(op, reply)
            recorder.record(op.kind, reply, sentAt: sentAt, expectsRefusal: op.expectsRefusal || op.tolerates(reply))
            if op.kind == .settleByQR, reply.ok, let probes { try await probes.offerAgain(op, line: line, &state) }
            if ProbeRunner.isOutage(reply) { try await Self.pauseAfterOutage() }
            // BUSY may mean "the commit's connection was lost; done or not is not known yet".
            if op.kind.isSettle, reply.code == "BUSY" { try await resolve(op, on: connection, state: &state) }
        }
    }
}

extension LoadRun {
    /// After `UNAVAILABLE` or `BUSY` a terminal waits a little before its next request, as a real
    /// one (a cashier reading the error) would, rather than hammering the engine in a tight loop.
    static func pauseAfterOutage() async throws {
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// SIGNIN answered `UNAVAILABLE` or `BUSY`.
struct SignInDuringOutage: Error {}

/// The request a connection has sent and not yet had answered.
final class InFlight: Sendable {
    private let current = Mutex<Operation?>(nil)

    var operation: Operation? {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
