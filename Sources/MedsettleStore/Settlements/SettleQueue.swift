import NIOPosix
import Synchronization
import Tracing

/// One SETTLE waiting for a batch, and where its answer goes.
struct SettleJob: Sendable {
    let claim: ClaimRequest
    let traced: TracedRequest
    let context: TerminalContext
    let complete: @Sendable (Answer<Settled>) -> Void
    /// Where `complete` runs; nil: on the settlement worker's thread.
    var replies: (any SettleReplyQueue)? = nil
    /// The request's span context when it is traced: the round's span links to it.
    var trace: ServiceContext? = nil
}

/// Where settlement answers are delivered, typically the event loop of the connection that asked.
/// The answers of one batch for one queue are handed over in one hop, not one hop each: a hop
/// wakes the loop's thread, and those wake-ups were a large part of the engine's CPU.
public protocol SettleReplyQueue: Sendable {
    /// Queues with the same key receive their answers together.
    var key: ObjectIdentifier { get }
    func deliver(_ work: @escaping @Sendable () -> Void)
}

extension [(SettleJob, Answer<Settled>)] {
    /// Completes every job, in one `deliver` per reply queue.
    func deliver() {
        var grouped: [ObjectIdentifier: (any SettleReplyQueue, [(SettleJob, Answer<Settled>)])] = [:]
        for (job, outcome) in self {
            guard let queue = job.replies else {
                job.complete(outcome)
                continue
            }
            grouped[queue.key, default: (queue, [])].1.append((job, outcome))
        }
        for (queue, answers) in grouped.values {
            queue.deliver { for (job, outcome) in answers { job.complete(outcome) } }
        }
    }
}

/// How SETTLE requests are grouped into shared transactions (group commit).
public struct SettleBatching: Sendable {
    /// Threads that each run one batch at a time on a pooled connection, under load. Two let one
    /// batch's reads and pricing overlap another's commit; more would split the waiting
    /// settlements into smaller batches, and PostgreSQL's work per settlement grows.
    public var workers: Int
    /// Threads while the load is light (at most `lightLoad` settlements queued or in a batch):
    /// then batches are small anyway, and more commits in flight at once (which PostgreSQL
    /// flushes together) could shorten each settlement's wait where a commit is slow to flush.
    /// By default the same as `workers`: on a local SSD, 4 made rounds smaller and settled a
    /// quarter fewer claims at 8 terminals (docs/PERFORMANCE.md).
    public var lightLoadWorkers: Int
    /// Settlements queued or being settled up to which the load counts as light.
    public var lightLoad: Int
    /// The most settlements one transaction carries.
    public var maxBatch: Int
    /// Settlements waiting for a worker; past it a SETTLE answers BUSY at once.
    public var queueCapacity: Int

    public init(workers: Int = 2, lightLoadWorkers: Int = 2, lightLoad: Int = 16, maxBatch: Int = 64, queueCapacity: Int = 8192) {
        precondition(workers >= 1 && maxBatch >= 1 && queueCapacity >= 1 && lightLoad >= 0, "batching limits are positive")
        self.workers = workers
        self.lightLoadWorkers = max(workers, lightLoadWorkers)
        self.lightLoad = lightLoad
        self.maxBatch = maxBatch
        self.queueCapacity = queueCapacity
    }

    /// The drains allowed with `inFlight` settlements queued or being settled.
    func drains(inFlight: Int) -> Int { inFlight <= lightLoad ? lightLoadWorkers : workers }
}

/// A bounded queue of settlements, drained in batches by at most `workers` drains at a time
/// (`lightLoadWorkers` while the load is light) on
/// a thread pool of its own (libpq blocks, so never on an event loop; and of its own, so that a
/// flood of other requests cannot keep settlements waiting for a thread).
///
/// There is no timer: a drain takes whatever is waiting when it is free. Under light load a
/// batch is one settlement (no added latency); under heavy load the settlements that arrive while a
/// batch commits form the next batch, so commits per second stay bounded while settlements per
/// second grow. A drain ends when the queue is empty; the next SETTLE starts one again.
final class SettleQueue: Sendable {
    private struct State {
        var pending: [SettleJob] = []
        var head = 0
        var running = 0
        /// Settlements queued or in a batch being settled: the load, which sets how many drains run.
        var inFlight = 0
        var closed = false
        /// `close()` callers waiting for the last drain to end.
        var closers: [CheckedContinuation<Void, Never>] = []

        var waiting: Int { pending.count - head }

        /// The next batch after `finished` settlements were answered, or nil (and one drain
        /// fewer) when there is none or the load has grown past what this many drains are for.
        mutating func nextBatch(finished: Int, limits: SettleBatching) -> [SettleJob]? {
            inFlight -= finished
            assert(inFlight >= waiting, "every waiting settlement is in flight")
            // A drain beyond the allowed number stops; `running - 1` others remain to go on.
            guard waiting > 0, running <= limits.drains(inFlight: inFlight) else {
                running -= 1
                return nil
            }
            let end = min(pending.count, head + limits.maxBatch)
            let batch = Array(pending[head..<end])
            head = end
            if head == pending.count {
                pending.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 {
                pending.removeFirst(head)
                head = 0
            }
            return batch
        }
    }

    private let limits: SettleBatching
    private let run: @Sendable ([SettleJob]) -> Void
    private let state = Mutex(State())
    private let threads: NIOThreadPool

    init(limits: SettleBatching, run: @escaping @Sendable ([SettleJob]) -> Void) {
        self.limits = limits
        self.run = run
        threads = NIOThreadPool(numberOfThreads: limits.lightLoadWorkers)
        threads.start()
    }

    /// Queues a job; false when the queue is full or closed (the caller answers for the job).
    func submit(_ job: SettleJob) -> Bool {
        let startDrain = state.withLock { state -> Bool? in
            guard !state.closed, state.waiting < limits.queueCapacity else { return nil }
            state.pending.append(job)
            state.inFlight += 1
            guard state.running < limits.drains(inFlight: state.inFlight) else { return false }
            state.running += 1
            return true
        }
        guard let startDrain else { return false }
        if startDrain { threads.submit { [self] _ in drain() } }
        return true
    }

    /// Stops taking jobs, lets the drains answer what is queued, and returns once they have ended.
    func close() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                state.closed = true
                guard state.running > 0 else { return true }
                state.closers.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        try? await threads.shutdownGracefully()
    }

    private func drain() {
        var finished = 0
        while let batch = state.withLock({ $0.nextBatch(finished: finished, limits: limits) }) {
            run(batch)
            finished = batch.count
        }
        let closers = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.running == 0, state.closed else { return [] }
            defer { state.closers.removeAll() }
            return state.closers
        }
        for closer in closers { closer.resume() }
    }
}

/// A weak reference set once, after its owner finished initialising (for callbacks created in
/// `init` that must not keep their owner alive).
final class LateBound<T: AnyObject & Sendable>: Sendable {
    private struct Weak: Sendable { weak var value: T? }
    private let stored = Mutex(Weak())

    var value: T? {
        get { stored.withLock { $0.value } }
        set { stored.withLock { $0.value = newValue } }
    }
}
