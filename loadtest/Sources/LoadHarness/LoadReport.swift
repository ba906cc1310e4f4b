import Foundation

/// The end of a run: a summary for people, a JSON report and a self-contained SVG chart.
public struct LoadReport: Codable, Sendable {
    public let runID: String
    public let mode: String
    public let mix: String
    public let connections: Int
    public let seconds: Int
    public let requests: UInt64
    public let throughputPerSecond: Double
    public let latencyMicros: [String: UInt64]
    /// Requests, throughput and latency by MSLP verb (`SETTLE`, `CARDINFO`, `QRCODE`, …): the
    /// mixed load's verbs cost the engine very different amounts.
    public let verbs: [String: LatencyFigures]
    public let replies: [String: Int]
    /// Requests by operation: `settle_card`, `settle_qr`, `qrcode`, `cardinfo`, `ping`, ….
    public let operations: [String: Int]
    public let settlementsCreated: Int
    /// Of `settlementsCreated`, those paid by QR.
    public let qrSettlementsCreated: Int
    public let connectionsClosedByServer: Int
    public let connectAttemptsFailed: Int
    public let unresolvedRequests: Int
    /// The idle mix only: how many connections were held, and the PING sample at the end.
    public let idle: Idle?
    public let perSecond: [LoadStats.Second]
    /// The mixed mix's probes (`Probes.swift`): passed by kind, `skipped`, `failed`; empty otherwise.
    public let probes: [String: Int]
    public let probeFailures: [String]
    public var invariants: [String: String]

    public struct Idle: Codable, Sendable {
        public let held: Int
        public let failedToOpen: Int
        public let pingsSampled: Int
        public let pingsAnswered: Int
        public let firstError: String?
    }

    public init(run: LoadRun) {
        let stats = run.stats
        let c = run.configuration
        runID = run.runID
        mode = c.mode.rawValue
        mix = c.mix.rawValue
        connections = c.connections
        seconds = c.seconds
        requests = stats.requests
        // A run bounded by `requests` may end early: its rate is over the time it took.
        let elapsed = c.requests == nil ? Double(max(1, c.seconds)) : max(0.001, stats.elapsedSeconds)
        throughputPerSecond = Double(stats.requests) / elapsed
        latencyMicros = LatencyFigures.percentiles(of: stats.latencies)
        verbs = stats.latenciesByVerb.mapValues { LatencyFigures($0, seconds: elapsed) }
        replies = stats.replyCodes
        operations = stats.requestsByOperation
        settlementsCreated = stats.createdSettlements
        qrSettlementsCreated = stats.createdQRSettlements
        connectionsClosedByServer = stats.connectionsClosedByServer
        connectAttemptsFailed = stats.connectAttemptsFailed
        unresolvedRequests = stats.unresolvedRequests
        let held = run.held
        idle = c.mix == .idle ? Idle(held: held.heldNow, failedToOpen: held.failedToOpen, pingsSampled: held.sampledPings,
                                     pingsAnswered: held.answeredPings, firstError: held.error) : nil
        perSecond = (0..<min(c.seconds, Int(elapsed.rounded(.up)))).map(stats.second)
        probes = c.mix == .mixed ? run.probes.passed.merging(["skipped": run.probes.skipped, "failed": run.probes.failed]) { $1 } : [:]
        probeFailures = run.probes.failures
        invariants = [:]
    }

    public var summary: String {
        func ms(_ micros: UInt64?) -> String { String(format: "%.2f ms", Double(micros ?? 0) / 1000) }
        var lines = [
            "run \(runID): \(mode) loop, \(mix) mix, \(connections) connections, \(seconds) s",
            "requests \(requests), throughput \(String(format: "%.0f", throughputPerSecond))/s, settlements created \(settlementsCreated) (\(qrSettlementsCreated) by QR)",
            "latency p50 \(ms(latencyMicros["p50"])) p90 \(ms(latencyMicros["p90"])) p99 \(ms(latencyMicros["p99"])) p99.9 \(ms(latencyMicros["p99.9"])) max \(ms(latencyMicros["max"]))",
        ]
        if verbs.count > 1 {
            lines += verbs.sorted { ($0.value.requests, $1.key) > ($1.value.requests, $0.key) }.map { verb, figures in
                let latency = figures.latencyMicros
                return "  \(verb.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%8d", figures.requests)) requests "
                    + "\(String(format: "%7.0f", figures.throughputPerSecond))/s  p50 \(ms(latency["p50"])) p99 \(ms(latency["p99"])) "
                    + "p99.9 \(ms(latency["p99.9"])) max \(ms(latency["max"]))"
            }
        }
        lines += [
            "replies " + replies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
            "operations " + operations.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
        ]
        if connectionsClosedByServer > 0 || connectAttemptsFailed > 0 {
            lines.append("connections lost before the end: \(connectionsClosedByServer); attempts to connect that failed: \(connectAttemptsFailed); "
                         + "requests in flight left unresolved: \(unresolvedRequests)")
        }
        if let idle {
            lines.append("idle: held \(idle.held) connections, \(idle.failedToOpen) failed to open, PING sample \(idle.pingsAnswered)/\(idle.pingsSampled) answered"
                         + (idle.firstError.map { ", first error: \($0)" } ?? ""))
        }
        if !probes.isEmpty {
            lines.append("probes " + probes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            lines += probeFailures.map { "probe failed: " + $0 }
        }
        if !invariants.isEmpty {
            lines.append("invariants " + invariants.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Throughput (requests/s, left axis) and p99 latency (ms, right axis) per second.
    public func svg() -> String {
        let width = 800.0, height = 360.0, left = 60.0, right = 60.0, top = 30.0, bottom = 40.0
        let plotW = width - left - right, plotH = height - top - bottom
        let maxRate = max(1.0, Double(perSecond.map(\.requests).max() ?? 1))
        let maxP99 = max(1.0, Double(perSecond.map(\.p99Micros).max() ?? 1) / 1000)
        func x(_ i: Int) -> Double { left + plotW * (perSecond.count > 1 ? Double(i) / Double(perSecond.count - 1) : 0) }
        func points(_ values: [Double], _ top: Double) -> String {
            values.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), height - bottom - plotH * $0.element / top) }
                .joined(separator: " ")
        }
        let rate = points(perSecond.map { Double($0.requests) }, maxRate)
        let p99 = points(perSecond.map { Double($0.p99Micros) / 1000 }, maxP99)
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="18">medsettle load run \(runID): \(mode) loop, \(connections) connections — throughput (blue, /s) and p99 latency (red, ms)</text>
            <line x1="\(left)" y1="\(height - bottom)" x2="\(width - right)" y2="\(height - bottom)" stroke="black"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(height - bottom)" stroke="black"/>
            <line x1="\(width - right)" y1="\(top)" x2="\(width - right)" y2="\(height - bottom)" stroke="black"/>
            <text x="\(left - 5)" y="\(top + 4)" text-anchor="end" fill="steelblue">\(Int(maxRate))</text>
            <text x="\(left - 5)" y="\(height - bottom)" text-anchor="end" fill="steelblue">0</text>
            <text x="\(width - right + 5)" y="\(top + 4)" fill="firebrick">\(String(format: "%.1f", maxP99))</text>
            <text x="\(width - right + 5)" y="\(height - bottom)" fill="firebrick">0</text>
            <text x="\(left + plotW / 2)" y="\(height - 10)" text-anchor="middle">seconds (0–\(perSecond.count))</text>
            <polyline fill="none" stroke="steelblue" stroke-width="2" points="\(rate)"/>
            <polyline fill="none" stroke="firebrick" stroke-width="2" points="\(p99)"/>
            </svg>

            """
    }
}
