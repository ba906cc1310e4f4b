import CoreMetrics
import Dispatch
import Foundation
import Logging
import Synchronization

/// Takes finished log lines from any thread without blocking it, and writes them from a thread of
/// its own, in batches, in the order they were taken.
///
/// At `info` the event loops log one line per request; written on the loop, a slow disk or a
/// standard error nobody reads (a full pipe) would stall every connection of that loop. Here a
/// line is appended to a bounded buffer under a lock held for a copy, and the writer thread takes
/// the whole buffer at once and gives it to the sink in one write.
///
/// After each write the writer lingers (`linger`, 20 ms by default) before it takes the next
/// batch, so that under load a batch holds many lines and a logging thread never has to wake it:
/// waking it for every line cost an event loop a futex call and often a context switch per
/// request, more than formatting the line. Only a line logged while the writer waits with nothing
/// to do (an idle engine), or a buffer past half full, wakes it. When a line does not fit —
/// the sink stalled, or slower than the engine — it is dropped and counted
/// (`medsettle_log_lines_dropped_total`), and so is every line after it until the writer next
/// takes the buffer; a line `warning medsettle.log "log lines dropped" dropped=N` then stands in
/// the log where they would have been. At most two buffers' worth of lines are held: the one
/// being filled and the batch being written.
///
/// `close()` writes every line taken before it. Lines logged after the writer has stopped are
/// written at once by the caller (the process is stopping; nothing is served any more).
public final class LogWriter: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        /// A line was dropped: the buffer takes nothing until the writer has taken it.
        var full = false
        /// Lines dropped since the last note in the log.
        var droppedSinceNote = 0
        /// Lines dropped since the start.
        var droppedTotal = 0
        var counter: Counter?
        var writer = WriterState.busy
        var reopenRequested = false
        var closing = false
        /// The writer has written everything and stopped.
        var stopped = false
    }

    /// What the writer thread is doing, for those who might wake it (through `wakeup`, at most
    /// once per wait: whoever signals sets `.busy`).
    private enum WriterState {
        /// Taking or writing a batch: nobody needs to wake it.
        case busy
        /// Waiting `linger` after a write: woken early only by a buffer past half full, a
        /// reopen or the close.
        case lingering
        /// Nothing to write: the next line wakes it.
        case waiting
    }

    /// The most bytes of lines the buffer holds.
    public let capacity: Int
    /// How long the writer waits after a write before it takes the next batch.
    public let linger: Duration
    private let sink: any LogSink
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Serializes the callers' own writes once the writer has stopped.
    private let direct = Mutex(())

    static let label = "medsettle.log"

    /// Starts the writer thread.
    public init(capacity: Int, sink: any LogSink, linger: Duration = .milliseconds(20)) {
        precondition(capacity > 0, "a log buffer holds something")
        precondition(linger >= .zero, "a linger is a wait")
        self.capacity = capacity
        self.linger = linger
        self.sink = sink
        state.withLock { $0.buffer.reserveCapacity(min(capacity, 64 * 1024)) }
        let thread = Thread { [self] in run() }
        thread.name = "medsettle-log"
        thread.start()
    }

    /// Takes one line (without its LF), or drops it when the buffer is full. Never waits for the
    /// sink.
    public func write(_ line: String) {
        enum Outcome { case taken(wake: Bool), dropped(Counter?), stopped }
        let outcome = state.withLock { state -> Outcome in
            if state.stopped { return .stopped }
            let size = line.utf8.count + 1
            guard !state.full, state.buffer.count + size <= capacity else {
                state.full = true
                state.droppedSinceNote += 1
                state.droppedTotal += 1
                return .dropped(state.counter)
            }
            state.buffer.append(contentsOf: line.utf8)
            state.buffer.append(UInt8(ascii: "\n"))
            return .taken(wake: Self.wakeWriter(&state, urgent: state.buffer.count * 2 >= capacity))
        }
        switch outcome {
        case .taken(let wake):
            if wake { wakeup.signal() }
        case .dropped(let counter):
            counter?.increment()
        case .stopped:
            direct.withLock { _ in _ = sink.write(Array((line + "\n").utf8)) }
        }
    }

    /// Lines dropped since the start (also `medsettle_log_lines_dropped_total` once `countDrops`
    /// is called).
    public var droppedLines: Int { state.withLock { $0.droppedTotal } }

    /// Counts dropped lines in `medsettle_log_lines_dropped_total` of `factory` from now on, after
    /// the ones dropped before (the log starts before the metrics do).
    public func countDrops(in factory: any MetricsFactory) {
        let counter = Counter(label: "medsettle_log_lines_dropped_total", factory: factory)
        let before = state.withLock { state in
            state.counter = counter
            return state.droppedTotal
        }
        if before > 0 { counter.increment(by: before) }
    }

    /// Has the writer open its destination again before its next batch (SIGHUP after logrotate).
    public func reopen() {
        let wake = state.withLock { state in
            state.reopenRequested = true
            return Self.wakeWriter(&state, urgent: true)
        }
        if wake { wakeup.signal() }
    }

    /// Writes every line taken so far and stops the writer; returns false when that took longer
    /// than `timeout` (the sink is stalled: the process may stop without those lines).
    @discardableResult
    public func close(timeout: Duration = .seconds(10)) -> Bool {
        let (first, wake) = state.withLock { state -> (Bool, Bool) in
            guard !state.closing else { return (false, false) }
            state.closing = true
            return (true, Self.wakeWriter(&state, urgent: true))
        }
        if wake { wakeup.signal() }
        guard first else { return state.withLock { $0.stopped } }
        return finished.wait(timeout: Self.deadline(after: timeout)) == .success
    }

    /// `duration` from now, for a semaphore's wait.
    private static func deadline(after duration: Duration) -> DispatchTime {
        let (seconds, attoseconds) = duration.components
        return .now() + .nanoseconds(Int(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }

    /// Whether the writer must be signalled: it waits for work, or it lingers and this is
    /// `urgent` (and nobody signalled it yet).
    private static func wakeWriter(_ state: inout State, urgent: Bool) -> Bool {
        switch state.writer {
        case .busy: return false
        case .lingering where !urgent: return false
        case .lingering, .waiting:
            state.writer = .busy
            return true
        }
    }

    /// The writer thread: takes the buffer whole, writes it, lingers, and waits when there is
    /// nothing to write.
    private func run() {
        enum Step { case write(dropped: Int, reopen: Bool), wait, stop }
        var batch: [UInt8] = []
        batch.reserveCapacity(min(capacity, 64 * 1024))
        while true {
            let step = state.withLock { state -> Step in
                if state.buffer.isEmpty, state.droppedSinceNote == 0, !state.reopenRequested {
                    if state.closing {
                        state.stopped = true
                        return .stop
                    }
                    state.writer = .waiting
                    return .wait
                }
                state.writer = .busy
                swap(&state.buffer, &batch)
                let step = Step.write(dropped: state.droppedSinceNote, reopen: state.reopenRequested)
                state.full = false
                state.droppedSinceNote = 0
                state.reopenRequested = false
                return step
            }
            switch step {
            case .wait:
                wakeup.wait()
            case .stop:
                finished.signal()
                return
            case .write(let dropped, let reopen):
                // The writer's own lines go after the batch: the dropped lines came after it.
                var notes = 0
                if reopen, let failure = sink.reopen() {
                    note(&batch, .error, "cannot reopen the log file; writing on to the old one", ["error": failure])
                    notes += 1
                }
                if dropped > 0 {
                    note(&batch, .warning, "log lines dropped", ["dropped": "\(dropped)", "log_buffer": "\(capacity)"])
                    notes += 1
                }
                if !batch.isEmpty, !sink.write(batch) { lost(batch, notes: notes) }
                batch.removeAll(keepingCapacity: true)
                let lingers = state.withLock { state in
                    // No linger when the buffer filled past half during the write: take it now.
                    guard !state.closing, !state.reopenRequested, linger > .zero, state.buffer.count * 2 < capacity else { return false }
                    state.writer = .lingering
                    return true
                }
                // A signal that comes after the timeout is left on the semaphore: the next wait
                // returns at once and finds the work (or nothing) at the top of the loop.
                if lingers { _ = wakeup.wait(timeout: Self.deadline(after: linger)) }
            }
        }
    }

    /// Adds a line of the writer's own to the batch.
    private func note(_ batch: inout [UInt8], _ level: Logger.Level, _ message: String, _ metadata: [String: String]) {
        batch.append(contentsOf: KeyValueLogHandler.line(level: level, label: Self.label, message: message, metadata: metadata).utf8)
        batch.append(UInt8(ascii: "\n"))
    }

    /// The sink refused a batch: its lines (not the writer's own notes, which would otherwise
    /// be noted again and again into a broken sink) count as dropped, and the next batch says so.
    private func lost(_ batch: [UInt8], notes: Int) {
        let lines = batch.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } - notes
        guard lines > 0 else { return }
        let counter = state.withLock { state in
            state.droppedSinceNote += lines
            state.droppedTotal += lines
            return state.counter
        }
        counter?.increment(by: lines)
    }
}
