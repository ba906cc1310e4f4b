import Dispatch
import Foundation
import MetricsTestKit
import Synchronization
import Testing

@testable import MedsettleServer

/// Keeps what it is given; while stalled, its next write waits until `open()`, like a disk that
/// hangs or a standard error nobody reads.
final class StallingSink: LogSink {
    private let bytes = Mutex<[UInt8]>([])
    private let stalled: Mutex<Bool>
    /// Signalled when a write starts waiting.
    let entered = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)

    init(stalled: Bool = false) { self.stalled = Mutex(stalled) }

    func write(_ bytes: [UInt8]) -> Bool {
        if stalled.withLock({ $0 }) {
            entered.signal()
            gate.wait()
        }
        self.bytes.withLock { $0 += bytes }
        return true
    }

    func reopen() -> String? { nil }

    func open() {
        stalled.withLock { $0 = false }
        gate.signal()
    }

    var lines: [String] {
        bytes.withLock { String(decoding: $0, as: UTF8.self) }.split(separator: "\n").map(String.init)
    }
}

/// The log writer: lines in order, a stalled sink costs lines rather than the callers' time, and
/// closing writes everything taken.
@Suite struct LogWriterTests {
    /// A generous bound for waiting on the writer thread (not a measured time: an escape hatch
    /// from a hang).
    static var patience: DispatchTime { .now() + .seconds(60) }

    @Test func linesArriveInTheOrderEachThreadWroteThem() async throws {
        let sink = StallingSink()
        let writer = LogWriter(capacity: 1 << 20, sink: sink)
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<4 {
                group.addTask {
                    for i in 0..<5_000 { writer.write("t\(thread) \(i)") }
                }
            }
        }
        #expect(writer.close())
        let lines = sink.lines
        #expect(lines.count == 20_000)
        #expect(writer.droppedLines == 0)
        for thread in 0..<4 {
            let own = lines.filter { $0.hasPrefix("t\(thread) ") }
            #expect(own == (0..<5_000).map { "t\(thread) \($0)" })
        }
    }

    @Test func aStalledSinkCostsLinesNotTheCallersTime() throws {
        let sink = StallingSink(stalled: true)
        let writer = LogWriter(capacity: 1_000, sink: sink)
        let metrics = TestMetrics()
        writer.countDrops(in: metrics)
        writer.write("first")
        // The writer has taken "first" and is stuck in the sink.
        #expect(sink.entered.wait(timeout: Self.patience) == .success)
        // 99 characters and an LF: ten fit in the buffer, the other ten are dropped, and none of
        // these calls waits (the test would hang here if one did).
        for i in 0..<20 { writer.write(String(format: "%02d", i) + String(repeating: "x", count: 97)) }
        #expect(writer.droppedLines == 10)
        #expect(try metrics.expectCounter("medsettle_log_lines_dropped_total").totalValue == 10)
        sink.open()
        #expect(writer.close())
        let lines = sink.lines
        #expect(lines.count == 12, "\(lines)")
        #expect(lines.first == "first")
        #expect(lines.dropFirst().prefix(10).map { String($0.prefix(2)) } == (0..<10).map { String(format: "%02d", $0) })
        // Where the dropped lines would have been, the log says so.
        let note = try #require(lines.last)
        #expect(note.contains(" warning medsettle.log \"log lines dropped\" dropped=10 log_buffer=1000"), "\(note)")
    }

    @Test func linesDroppedBeforeTheMetricsStartAreCountedWhenTheyDo() {
        let sink = StallingSink(stalled: true)
        let writer = LogWriter(capacity: 10, sink: sink)
        writer.write("a")
        #expect(sink.entered.wait(timeout: Self.patience) == .success)
        writer.write("0123456789")
        let metrics = TestMetrics()
        writer.countDrops(in: metrics)
        #expect((try? metrics.expectCounter("medsettle_log_lines_dropped_total").totalValue) == 1)
        sink.open()
        writer.close()
    }

    @Test func closeWritesEveryLineTakenAndLaterLinesGoStraightOut() {
        let sink = StallingSink()
        let writer = LogWriter(capacity: 1 << 20, sink: sink)
        for i in 0..<10_000 { writer.write("line \(i)") }
        #expect(writer.close())
        writer.write("after the close")
        #expect(sink.lines == (0..<10_000).map { "line \($0)" } + ["after the close"])
    }

    @Test func closeGivesUpOnAStalledSink() {
        let sink = StallingSink(stalled: true)
        let writer = LogWriter(capacity: 1_000, sink: sink)
        writer.write("stuck")
        #expect(sink.entered.wait(timeout: Self.patience) == .success)
        #expect(!writer.close(timeout: .milliseconds(10)))
        sink.open()
    }

    /// logrotate renames the file and sends SIGHUP: the lines after the reopen go to a new file.
    @Test func reopenStartsANewFileAtThePath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logwriter-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("medsettle.log").path
        let writer = LogWriter(capacity: 1 << 16, sink: try FileLogSink(path: path))
        writer.write("before")
        // Wait until the writer has written it (progress, not a fixed time).
        for _ in 0..<6_000 where (try? String(contentsOfFile: path, encoding: .utf8)) != "before\n" { usleep(10_000) }
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        writer.reopen()
        writer.write("after")
        #expect(writer.close())
        #expect(try String(contentsOfFile: path + ".1", encoding: .utf8) == "before\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "after\n")
    }

    @Test func aLogFileThatCannotBeOpenedSaysWhy() {
        #expect(throws: LogFileError.self) { try FileLogSink(path: "/nonexistent-directory/medsettle.log") }
    }
}
