import Histogram
import MSLP

extension OperationKind {
    /// The MSLP verb the operation sends: the report keeps one latency histogram per verb, since a
    /// SETTLE, a CARDINFO and a QRCODE cost the engine very different amounts.
    var verb: Verb {
        switch self {
        case .settleByCard, .settleByQR, .repeatSettle, .lateOriginal, .qrReuse, .codeReuse: return .settle
        case .qrCode: return .qrCode
        case .cardInfo, .wrongPIN, .ownCardPIN: return .cardInfo
        case .reverse, .reverseUnsent: return .reverse
        case .cancel: return .cancel
        case .admit: return .admit
        case .fees: return .fees
        case .feesUndo: return .feesUndo
        case .discharge: return .discharge
        case .admitCancel: return .admitCancel
        case .ping: return .ping
        case .signIn: return .signIn
        }
    }
}

/// Throughput and latency of a whole run or of one verb in it, as the report gives them.
public struct LatencyFigures: Codable, Sendable, Equatable {
    public let requests: UInt64
    public let throughputPerSecond: Double
    /// `p50`, `p90`, `p99`, `p99.9` and `max`, in microseconds.
    public let latencyMicros: [String: UInt64]

    public init(requests: UInt64, throughputPerSecond: Double, latencyMicros: [String: UInt64]) {
        self.requests = requests
        self.throughputPerSecond = throughputPerSecond
        self.latencyMicros = latencyMicros
    }

    /// The figures of `histogram` (latencies in microseconds) over a run of `seconds`.
    init(_ histogram: Histogram<UInt64>, seconds: Double) {
        self.init(requests: histogram.totalCount, throughputPerSecond: Double(histogram.totalCount) / seconds,
                  latencyMicros: Self.percentiles(of: histogram))
    }

    /// The percentiles the report gives, by the names it gives them.
    static func percentiles(of histogram: Histogram<UInt64>) -> [String: UInt64] {
        ["p50": histogram.valueAtPercentile(50), "p90": histogram.valueAtPercentile(90), "p99": histogram.valueAtPercentile(99),
         "p99.9": histogram.valueAtPercentile(99.9), "max": histogram.max]
    }
}
