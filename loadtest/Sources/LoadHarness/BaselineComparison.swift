import Foundation

/// What `--baseline` reads of an earlier run's report.json: throughput and latency, overall and
/// by verb. Only these fields are read, so a report written before per-verb figures existed (or
/// with fields since added or dropped) still serves as a baseline, for its overall figures.
public struct RunFigures: Decodable, Sendable {
    public let runID: String?
    public let mix: String?
    public let connections: Int?
    public let overall: LatencyFigures
    public let verbs: [String: LatencyFigures]

    private enum CodingKeys: String, CodingKey {
        case runID, mix, connections, requests, throughputPerSecond, latencyMicros, verbs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        runID = try container.decodeIfPresent(String.self, forKey: .runID)
        mix = try container.decodeIfPresent(String.self, forKey: .mix)
        connections = try container.decodeIfPresent(Int.self, forKey: .connections)
        overall = LatencyFigures(requests: try container.decode(UInt64.self, forKey: .requests),
                                 throughputPerSecond: try container.decode(Double.self, forKey: .throughputPerSecond),
                                 latencyMicros: try container.decode([String: UInt64].self, forKey: .latencyMicros))
        verbs = try container.decodeIfPresent([String: LatencyFigures].self, forKey: .verbs) ?? [:]
    }

    public init(report: LoadReport) {
        runID = report.runID
        mix = report.mix
        connections = report.connections
        overall = LatencyFigures(requests: report.requests, throughputPerSecond: report.throughputPerSecond,
                                 latencyMicros: report.latencyMicros)
        verbs = report.verbs
    }

    /// An earlier run's report.json.
    public static func read(path: String) throws -> RunFigures {
        try JSONDecoder().decode(RunFigures.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// A run against an earlier one (`--baseline`): throughput, p50 and p99, overall and by verb, each
/// with its change in per cent of the baseline's figure.
public struct BaselineComparison: Sendable {
    public let now: RunFigures
    public let before: RunFigures
    /// How the baseline is named in the text (its path).
    public let baselineName: String

    public init(now: RunFigures, before: RunFigures, baselineName: String) {
        self.now = now
        self.before = before
        self.baselineName = baselineName
    }

    public var text: String {
        var lines = ["against the baseline \(before.runID ?? "?") (\(baselineName)): \(before.mix ?? "?") mix, \(before.connections.map(String.init) ?? "?") connections"]
        if before.mix != now.mix || before.connections != now.connections {
            lines.append("  (this run: \(now.mix ?? "?") mix, \(now.connections.map(String.init) ?? "?") connections — not like for like)")
        }
        lines.append(row("all", now.overall, before.overall))
        // This run's verbs busiest first, then those only the baseline sent.
        let verbs = now.verbs.sorted { ($0.value.requests, $1.key) > ($1.value.requests, $0.key) }.map(\.key)
            + before.verbs.keys.filter { now.verbs[$0] == nil }.sorted()
        for verb in verbs {
            switch (now.verbs[verb], before.verbs[verb]) {
            case let (thisRun?, baseline?): lines.append(row(verb, thisRun, baseline))
            case (_?, nil): lines.append(label(verb) + "not in the baseline")
            case (nil, _): lines.append(label(verb) + "not in this run")
            }
        }
        return lines.joined(separator: "\n")
    }

    private func label(_ name: String) -> String { "  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) }

    private func row(_ name: String, _ now: LatencyFigures, _ before: LatencyFigures) -> String {
        func ms(_ micros: UInt64) -> String { String(format: "%.2f", Double(micros) / 1000) }
        func latency(_ key: String) -> String {
            let a = before.latencyMicros[key] ?? 0, b = now.latencyMicros[key] ?? 0
            return "\(key) \(ms(a)) → \(ms(b)) ms (\(Self.change(from: Double(a), to: Double(b))))"
        }
        // A rare verb's few requests a second keep a decimal, so that its change can be read.
        func rate(_ perSecond: Double) -> String { String(format: perSecond < 100 ? "%.1f" : "%.0f", perSecond) }
        let throughput = "\(rate(before.throughputPerSecond)) → \(rate(now.throughputPerSecond))/s"
        return label(name) + "throughput \(throughput) (\(Self.change(from: before.throughputPerSecond, to: now.throughputPerSecond)))  "
            + latency("p50") + "  " + latency("p99")
    }

    /// `+6.4 %`, `-12.0 %`; `new` when the baseline's figure was 0.
    static func change(from before: Double, to now: Double) -> String {
        guard before > 0 else { return now > 0 ? "new" : "+0.0 %" }
        return String(format: "%+.1f %%", (now - before) / before * 100)
    }
}
