import Foundation
@testable import LoadHarness
import Testing

/// The load report's pieces from replies recorded by hand (no engine, no clock): latency by verb,
/// the `.hgrm` distributions and the comparison against a baseline report.
@Suite struct LoadReportTests {
    /// A 2-second run's stats: three SETTLEs (by card, by QR, a repeat), two CARDINFOs (one with a
    /// wrong PIN sent on purpose) and a QRCODE.
    static func recordedRun() -> LoadRun {
        var configuration = LoadConfiguration()
        configuration.seconds = 2
        let run = LoadRun(configuration: configuration)
        let replies: [(OperationKind, UInt64, String)] = [
            (.settleByCard, 2_000, "OK"), (.settleByQR, 4_000, "OK"), (.repeatSettle, 3_000, "OK"),
            (.cardInfo, 1_000, "OK"), (.wrongPIN, 1_500, "PIN_WRONG"), (.qrCode, 500, "OK"),
        ]
        for (kind, micros, code) in replies {
            run.stats.record(kind, micros: micros, code: code, second: 0, expected: code != "OK", createdSettlement: false)
        }
        return run
    }

    @Test func latencyIsReportedByVerb() throws {
        let report = LoadReport(run: Self.recordedRun())
        #expect(Set(report.verbs.keys) == ["SETTLE", "CARDINFO", "QRCODE"])
        let settle = try #require(report.verbs["SETTLE"])
        #expect(settle.requests == 3 && settle.throughputPerSecond == 1.5)
        #expect(settle.latencyMicros["p50"].map { (2_990...3_010).contains($0) } == true, "\(settle.latencyMicros)")
        #expect(report.verbs["QRCODE"]?.latencyMicros["max"].map { (495...505).contains($0) } == true)
        #expect(report.verbs.values.map(\.requests).reduce(0, +) == report.requests)
        #expect(report.summary.contains("  SETTLE ") && report.summary.contains("  QRCODE "), "\(report.summary)")
        // What a later run's --baseline reads back of the JSON.
        let figures = try JSONDecoder().decode(RunFigures.self, from: report.json())
        #expect(figures.verbs == report.verbs && figures.overall.requests == 6)
    }

    @Test func hgrmFilesHoldTheWholeRunAndEachVerb() throws {
        let files = LatencyDistribution.files(of: Self.recordedRun().stats)
        #expect(Set(files.keys) == ["latency.hgrm", "latency-SETTLE.hgrm", "latency-CARDINFO.hgrm", "latency-QRCODE.hgrm"])
        let settle = try #require(files["latency-SETTLE.hgrm"])
        let lines = settle.split(separator: "\n")
        // The HdrHistogram percentile-distribution layout: header, rows of value (ms), percentile,
        // count and 1/(1-percentile), the last at percentile 1, then the mean, max and count.
        #expect(lines.first?.split(separator: " ") == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"])
        let rows = lines.dropFirst().filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ") }
        #expect(rows.first.map { Double($0[0]).map { (1.99...2.01).contains($0) } } == true, "\(settle)")
        #expect(rows.last.map { $0[1] == "1.000000000000" && $0[2] == "3" } == true, "\(settle)")
        #expect(settle.contains("Total count    =            3"), "\(settle)")
        #expect(files["latency.hgrm"]?.contains("Total count    =            6") == true)
    }

    @Test func baselineComparisonGivesTheChangeInPerCent() throws {
        // A baseline written before reports had per-verb figures, with fields this version lacks.
        let old = """
            {"runID": "Rold", "mix": "mixed", "connections": 32, "requests": 2000, "throughputPerSecond": 1000,
             "latencyMicros": {"p50": 2000, "p90": 3000, "p99": 5000, "p99.9": 9000, "max": 20000}, "someFieldSinceDropped": 1}
            """
        let before = try JSONDecoder().decode(RunFigures.self, from: Data(old.utf8))
        #expect(before.verbs.isEmpty)
        let now = try JSONDecoder().decode(RunFigures.self, from: LoadReport(run: Self.recordedRun()).json())
        let text = BaselineComparison(now: now, before: before, baselineName: "old/report.json").text
        #expect(text.contains("against the baseline Rold (old/report.json): mixed mix, 32 connections"), "\(text)")
        #expect(text.contains("throughput 1000 → 3.0/s (-99.7 %)"), "\(text)")
        #expect(text.contains("p50 2.00 → "), "\(text)")
        #expect(text.contains("  SETTLE      not in the baseline"), "\(text)")
        let same = BaselineComparison(now: now, before: now, baselineName: "same").text
        #expect(same.contains("  SETTLE      throughput 1.5 → 1.5/s (+0.0 %)  p50 "), "\(same)")
        #expect(BaselineComparison.change(from: 8_944, to: 9_512) == "+6.4 %")
        #expect(BaselineComparison.change(from: 7.2, to: 6.9) == "-4.2 %")
        #expect(BaselineComparison.change(from: 0, to: 5) == "new")
    }
}
