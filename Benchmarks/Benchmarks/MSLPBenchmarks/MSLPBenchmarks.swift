// What: the MSLP/1 work the engine does on every request, outside the database: parsing a request
// line, parsing its `items=` list, and encoding the reply into the connection's output buffer.
// Why: on 2 shared cores the engine is CPU-bound (docs/PERFORMANCE.md), so the nanoseconds and the
// allocations of this per-request path are what a change to MSLP should be checked against.
//
// Each benchmark repeats one operation `benchmark.scaledIterations` times on inputs built before
// the measured loop, so the figures the tool prints (scaled) are per operation.

import Benchmark
import MSLP
import MedsettleCore

/// The fixed inputs, spelled as a terminal sends them (PROTOCOL.md "Example").
enum Inputs {
    /// A SETTLE with a card and PIN, a 3-line item list and both optional fields: the common
    /// request of a pharmacy or outpatient terminal.
    static let settleLine: [UInt8] = Array(
        "SETTLE a2 trace=20261129000017 card=H00000017 pin=246810 items=A001*2@1250;B001*1@3200;C001*1@3000 visit=outpatient use_account=1".utf8)

    /// The smallest request: a keep-alive.
    static let pingLine: [UInt8] = Array("PING p1".utf8)

    /// An item list as the request carries it, `lineCount` lines over a few catalog codes, with
    /// whole and fractional quantities.
    static func itemList(lineCount: Int) -> String {
        let lines = ["A001*2@1250", "B001*1@3200", "C001*1@3000", "A003*0.5@2800", "S004*1@2000"]
        return (0..<lineCount).map { lines[$0 % lines.count] }.joined(separator: ";")
    }

    /// The reply to a successful SETTLE, fields in the order the store builds them.
    static let settleSplit = Split(total: 5500, selfpayFull: 3000, selfpayFirst: 0, inscope: 2500,
                                   deductible: 0, fund: 0, account: 2500, cash: 3000)
    static let settleReply = okSettleReply(tag: "a2", split: settleSplit, balanceAfter: 47500)

    /// A refused SETTLE with an extra field and a message that needs escaping.
    static let errorReply = Reply.error(tag: "a3", code: .pinWrong, message: "wrong PIN", fields: [("left", "5")])

    /// What `Settlement` hands the front for an OK SETTLE (settlement id, the split, the balance).
    static func okSettleReply(tag: String, split: Split, balanceAfter: Fen) -> Reply {
        Reply.ok(tag: tag, fields: [("settlement", "S8F3K2")] + split.fields + [("balance", String(balanceAfter))])
    }
}

/// Per-operation figures: wall-clock time, allocations and rate. No `.cpuTotal`: Linux reports a
/// process's CPU time in 10 ms ticks, far coarser than one measured loop here, and reading it inside
/// the measured region adds allocations of its own to `.mallocCountTotal`.
func configuration(scaling: BenchmarkScalingFactor) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        scalingFactor: scaling,
        maxDuration: .seconds(1),
        maxIterations: 10_000
    )
}

let benchmarks: @Sendable () -> Void = {
    // Inputs are checked once before measuring, so that no benchmark silently times an error path.
    guard case .request(let settle) = RequestParser.parse(Inputs.settleLine), settle.verb == .settle,
          settle.fields.count == 6
    else { fatalError("the SETTLE line no longer parses as a 6-field SETTLE") }
    guard case .request(let ping) = RequestParser.parse(Inputs.pingLine), ping.verb == .ping
    else { fatalError("the PING line no longer parses") }

    Benchmark("RequestParser.parse SETTLE (card, pin, 3 items)", configuration: configuration(scaling: .kilo)) { benchmark in
        let line = Inputs.settleLine
        for _ in benchmark.scaledIterations {
            blackHole(RequestParser.parse(line))
        }
    }

    Benchmark("RequestParser.parse PING", configuration: configuration(scaling: .kilo)) { benchmark in
        let line = Inputs.pingLine
        for _ in benchmark.scaledIterations {
            blackHole(RequestParser.parse(line))
        }
    }

    for lineCount in [5, 200] {
        let text = Inputs.itemList(lineCount: lineCount)
        guard case .success(let lines) = ItemList.parse(text), lines.count == lineCount else {
            fatalError("the \(lineCount)-line item list no longer parses")
        }
        // 200 lines take microseconds: no inner loop needed to dwarf the timer.
        let scaling: BenchmarkScalingFactor = lineCount <= 5 ? .kilo : .one
        Benchmark("ItemList.parse \(lineCount) items", configuration: configuration(scaling: scaling)) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(ItemList.parse(text))
            }
        }
    }

    let settleReply = Inputs.settleReply
    encodingBenchmark("Reply.encode OK SETTLE (split fields)") { settleReply.encode(into: &$0) }
    let split = Inputs.settleSplit
    encodingBenchmark("Reply build + encode OK SETTLE from Split") {
        Inputs.okSettleReply(tag: "a2", split: split, balanceAfter: 47500).encode(into: &$0)
    }
    let errorReply = Inputs.errorReply
    encodingBenchmark("Reply.encode ERR PIN_WRONG") { errorReply.encode(into: &$0) }
}

/// `encode` appends one reply to a buffer kept across iterations and emptied after each, with
/// its capacity (as `ConnectionHandler.deliver` does after a flush); measuring starts once that
/// buffer exists.
func encodingBenchmark(_ name: String, _ encode: @escaping @Sendable (inout [UInt8]) -> Void) {
    Benchmark(name, configuration: configuration(scaling: .kilo)) { benchmark in
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            encode(&buffer)
            blackHole(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
