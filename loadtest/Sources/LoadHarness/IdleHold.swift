import LoadData
import Foundation
import MSLP
import MSLPChannel
import Synchronization
import MedsettleStore

/// The idle mix: opens `connections` connections, at most `connectConcurrency` being opened at
/// once, signs each in, holds them all open and quiet for `seconds`, then checks that a sample of
/// `pingSample` of them, spread evenly, still answers PING.
///
/// Connections that cannot be opened or signed in are counted, not fatal: how many the engine
/// holds is the figure this measures.
struct IdleHold {
    let run: LoadRun

    func run(notice: @escaping @Sendable (String) -> Void) async throws {
        let configuration = run.configuration
        let count = configuration.connections
        let started = ContinuousClock.now
        let recorder = ReplyRecorder(stats: run.stats, start: started)
        let opening = ConcurrencyLimit(configuration.connectConcurrency)
        let gate = Gate()
        let held = run.held
        // Every `sampleStride`-th connection, `pingSample` of them at most, is pinged at the end.
        let sampleStride = max(1, count / max(1, configuration.pingSample))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                let sampled = index % sampleStride == 0 && index / sampleStride < configuration.pingSample
                await opening.acquire()
                group.addTask {
                    var opened = false
                    do {
                        try await run.signedIn(asTerminal: configuration.terminalName(forConnection: index),
                                               recorder: recorder) { connection in
                            opened = true
                            held.opened()
                            await opening.release()
                            await gate.wait()
                            guard sampled else { return }
                            held.pinged()
                            let sentAt = ContinuousClock.now
                            let reply = try await connection.request("PING h\(index)")
                            recorder.record(.ping, reply, sentAt: sentAt)
                            if reply.ok { held.answered() }
                        }
                    } catch {
                        held.failed(error, whileOpening: !opened)
                        if !opened { await opening.release() }
                    }
                }
                if (index + 1) % 1_000 == 0 { notice("opening: \(held.signedIn) of \(count) signed in") }
            }
            // All are open or failed once every slot can be taken back.
            await opening.drain()
            let openedIn = ContinuousClock.now - started
            notice(String(format: "holding %d connections (%d failed) for %d s, opened in %.1f s",
                          held.heldNow, held.failedToOpen, configuration.seconds, Double(ReplyRecorder.micros(openedIn)) / 1e6))
            try await Task.sleep(for: .seconds(configuration.seconds))
            await gate.open()
            try await group.waitForAll()
        }
        notice("PING sample: \(held.answeredPings) of \(held.sampledPings) answered")
    }
}

/// Counts of the idle mix: connections opened and signed in, held until now, failed, and the
/// PING sample at the end.
public final class HeldConnections: Sendable {
    private struct Counts {
        var opened = 0
        var closedEarly = 0
        var failedOpening = 0
        var sampled = 0
        var answered = 0
        var firstError: String?
    }

    private let counts = Mutex(Counts())

    public init() {}

    func opened() { counts.withLock { $0.opened += 1 } }
    func pinged() { counts.withLock { $0.sampled += 1 } }
    func answered() { counts.withLock { $0.answered += 1 } }

    func failed(_ error: any Error, whileOpening: Bool) {
        counts.withLock {
            if whileOpening { $0.failedOpening += 1 } else { $0.closedEarly += 1 }
            if $0.firstError == nil { $0.firstError = "\(error)" }
        }
    }

    /// Signed in and not failed since.
    public var heldNow: Int { counts.withLock { $0.opened - $0.closedEarly } }
    public var signedIn: Int { counts.withLock { $0.opened } }
    public var failedToOpen: Int { counts.withLock { $0.failedOpening } }
    public var lostWhileHeld: Int { counts.withLock { $0.closedEarly } }
    public var sampledPings: Int { counts.withLock { $0.sampled } }
    public var answeredPings: Int { counts.withLock { $0.answered } }
    public var error: String? { counts.withLock { $0.firstError } }
}

/// At most `limit` holders at once; `acquire` waits for a free slot (in order of arrival).
actor ConcurrencyLimit {
    private let limit: Int
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// Waits for all slots to be back.
    private var drained: CheckedContinuation<Void, Never>?

    init(_ limit: Int) {
        precondition(limit >= 1, "a limit admits at least one")
        self.limit = limit
        self.available = limit
    }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if !waiting.isEmpty {
            waiting.removeFirst().resume()
            return
        }
        available += 1
        if available == limit, let drained {
            self.drained = nil
            drained.resume()
        }
    }

    /// Returns once every slot has been released (call it after the last `acquire`).
    func drain() async {
        if available == limit { return }
        await withCheckedContinuation { drained = $0 }
    }
}

/// Closed until `open`: `wait` suspends until then.
actor Gate {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func open() {
        isOpen = true
        let waiters = waiting
        waiting = []
        for waiter in waiters { waiter.resume() }
    }
}
