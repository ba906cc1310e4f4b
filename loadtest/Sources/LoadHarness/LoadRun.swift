import Foundation
import MSLP
import MSLPChannel
import MedsettleStore

/// Drives one load run: `connections` terminals (the generated LOAD-P… pharmacies), each on its
/// own connection, sending the configured mix until the time is up.
public struct LoadRun: Sendable {
    public let configuration: LoadConfiguration
    public let stats = LoadStats()
    /// Prefix of every trace of this run, so its settlements can be told apart afterwards.
    public let runID: String

    public init(configuration: LoadConfiguration) {
        self.configuration = configuration
        self.runID = "R" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// Pharmacy catalog items and their price limits: claims stay within the limits.
    static let items: [(String, Int)] = [("A001", 1500), ("A002", 1200), ("A003", 2800), ("A004", 1800), ("A005", 500),
                                         ("B001", 3500), ("B002", 2600), ("B003", 3000), ("B004", 6800),
                                         ("C001", 3000), ("C002", 5000)]

    /// Runs to the end; `progress` is called once a second with the second just finished.
    public func run(progress: @escaping @Sendable (LoadStats.Second) -> Void = { _ in }) async throws {
        let start = ContinuousClock.now
        let deadline = start + .seconds(configuration.seconds)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<configuration.connections {
                group.addTask { try await self.work(worker, start: start, deadline: deadline) }
            }
            group.addTask {
                for second in 0..<configuration.seconds {
                    try await Task.sleep(until: start + .seconds(second + 1), clock: .continuous)
                    progress(stats.second(second))
                }
            }
            try await group.waitForAll()
        }
    }

    private func work(_ worker: Int, start: ContinuousClock.Instant, deadline: ContinuousClock.Instant) async throws {
        let terminal = LoadTestData.terminal(configuration.firstTerminal + worker)
        try await MSLPClient.withConnection(host: configuration.host, port: configuration.port) { connection in
            let signIn = try await connection.signIn(terminal: terminal, key: LoadTestData.terminalKey(terminal))
            guard signIn.ok else { throw LoadError("sign-in as \(terminal) failed: \(signIn.message ?? "?") (run `medsettle seed`)") }
            var state = WorkerState(worker: worker, runID: runID)
            // Open loop: this connection's share of the rate, sent on a fixed schedule.
            let interval: Duration = .nanoseconds(Int64(1_000_000_000) * Int64(configuration.connections) / Int64(max(1, configuration.rate)))
            var scheduled = start + interval * Double(worker) / Double(configuration.connections)
            while ContinuousClock.now < deadline {
                let sentAt: ContinuousClock.Instant
                if configuration.mode == .open {
                    if scheduled > ContinuousClock.now { try await Task.sleep(until: scheduled, clock: .continuous) }
                    sentAt = scheduled
                    scheduled += interval
                    if sentAt >= deadline { break }
                } else {
                    sentAt = .now
                }
                let op = state.next(configuration)
                let reply = try await connection.request(op.line)
                if case .settle = op.kind, reply.ok, let settlement = reply.value("settlement") {
                    state.settled(trace: op.trace, settlement: settlement)
                }
                let elapsed = ContinuousClock.now - sentAt
                let micros = UInt64(max(0, elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000))
                let second = Int((ContinuousClock.now - start).components.seconds)
                stats.record(micros: micros, code: reply.ok ? "OK" : (reply.code ?? "?"), second: min(second, configuration.seconds - 1),
                             expected: op.expectsRefusal, createdSettlement: op.kind == .settle && reply.ok && reply.value("repeat") == nil)
            }
        }
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One request of the mix.
struct Operation {
    enum Kind { case settle, other }
    let kind: Kind
    let line: String
    let trace: String
    /// A wrong PIN sent on purpose: its refusal is not an error.
    let expectsRefusal: Bool
}

/// A connection's own sequence numbers and the settlements it may reverse or cancel.
struct WorkerState {
    let worker: Int
    let runID: String
    var sequence = 0
    var tag = 0
    var recent: [(trace: String, settlement: String)] = []

    init(worker: Int, runID: String) {
        self.worker = worker
        self.runID = runID
    }

    mutating func settled(trace: String, settlement: String) {
        recent.append((trace, settlement))
        if recent.count > 64 { recent.removeFirst(recent.count - 64) }
    }

    mutating func next(_ configuration: LoadConfiguration) -> Operation {
        sequence += 1
        tag += 1
        let trace = "\(runID)-\(worker)-\(sequence)"
        let person = Int.random(in: 1...configuration.people)
        let card = "card=\(LoadTestData.cardNo(person)) pin=\(LoadTestData.pin)"
        let roll = configuration.mix == .settle ? 0 : Int.random(in: 0..<100)
        switch roll {
        case 80..<88:
            return Operation(kind: .other, line: "CARDINFO t\(tag) \(card)", trace: trace, expectsRefusal: false)
        case 88..<92:
            return Operation(kind: .other, line: "CARDINFO t\(tag) card=\(LoadTestData.cardNo(person)) pin=000000",
                             trace: trace, expectsRefusal: true)
        case 92..<96 where !recent.isEmpty:
            let victim = recent.removeLast()
            return Operation(kind: .other, line: "REVERSE t\(tag) trace=\(victim.trace)", trace: trace, expectsRefusal: false)
        case 96..<100 where !recent.isEmpty:
            let victim = recent.removeFirst()
            return Operation(kind: .other, line: "CANCEL t\(tag) trace=\(trace) settlement=\(victim.settlement)",
                             trace: trace, expectsRefusal: false)
        default:
            let count = Int.random(in: 1...5)
            let items = (0..<count).map { _ -> String in
                let (code, limit) = LoadRun.items.randomElement()!
                return "\(code)*\(Int.random(in: 1...3))@\(Int.random(in: 100...limit))"
            }.joined(separator: ";")
            return Operation(kind: .settle, line: "SETTLE t\(tag) trace=\(trace) \(card) items=\(items)", trace: trace,
                             expectsRefusal: false)
        }
    }
}
