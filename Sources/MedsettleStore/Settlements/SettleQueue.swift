import Foundation
import Synchronization

/// One SETTLE waiting for a batch, and where its answer goes.
struct SettleJob: Sendable {
    let claim: ClaimRequest
    let traced: TracedRequest
    let context: TerminalContext
    let complete: @Sendable (Answer<Settled>) -> Void
    /// Where `complete` runs; nil: on the settlement worker's thread.
    var replies: (any SettleReplyQueue)? = nil
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
    /// Threads that each run one batch at a time on a pooled connection. Two let one batch's
    /// reads and pricing overlap another's commit.
    public var workers: Int
    /// The most settlements one transaction carries.
    public var maxBatch: Int
    /// Settlements waiting for a worker; past it a SETTLE answers BUSY at once.
    public var queueCapacity: Int

    public init(workers: Int = 2, maxBatch: Int = 64, queueCapacity: Int = 8192) {
        precondition(workers >= 1 && maxBatch >= 1 && queueCapacity >= 1, "batching limits are positive")
        self.workers = workers
        self.maxBatch = maxBatch
        self.queueCapacity = queueCapacity
    }
}

/// A bounded queue of settlements and the worker threads that drain it in batches.
///
/// There is no timer: a worker takes whatever is waiting when it becomes free. Under light load a
/// batch is one settlement (no added latency); under heavy load the settlements that arrive while a
/// batch commits form the next batch, so commits per second stay bounded while settlements per
/// second grow.
final class SettleQueue: @unchecked Sendable {
    private let limits: SettleBatching
    private let run: @Sendable ([SettleJob]) -> Void
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: [SettleJob] = []
    private var head = 0
    private var started = 0
    private var running = 0
    private var waiting = 0
    private var closed = false

    init(limits: SettleBatching, run: @escaping @Sendable ([SettleJob]) -> Void) {
        self.limits = limits
        self.run = run
    }

    /// Queues a job; false when the queue is full or closed (the caller answers for the job).
    func submit(_ job: SettleJob) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, pending.count - head < limits.queueCapacity else { return false }
        pending.append(job)
        // Workers start lazily, one more whenever a job arrives and none is idle, up to the limit:
        // processes that never settle (the CLI's reports) start no threads.
        if waiting == 0, started < limits.workers { startWorker() }
        condition.signal()
        return true
    }

    /// Stops taking jobs, lets the workers finish what is queued, and waits for them to exit.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func startWorker() {
        started += 1
        running += 1
        let thread = Thread { [self] in workerLoop() }
        thread.name = "medsettle-settle-\(started)"
        thread.stackSize = 4 << 20
        thread.start()
    }

    private func workerLoop() {
        while let batch = nextBatch() {
            run(batch)
        }
    }

    private func nextBatch() -> [SettleJob]? {
        condition.lock()
        defer { condition.unlock() }
        while head == pending.count {
            if closed {
                running -= 1
                condition.broadcast()
                return nil
            }
            waiting += 1
            condition.wait()
            waiting -= 1
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
