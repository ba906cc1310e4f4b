import Foundation
import Synchronization
import Histogram
import MSLP

/// What a request of the load is, for the report's count of requests per operation.
public enum OperationKind: String, Sendable, CaseIterable {
    case settleByCard = "settle_card"
    /// SETTLE with `qr=` instead of card and PIN.
    case settleByQR = "settle_qr"
    /// QRCODE on the online terminal, for a QR payment.
    case qrCode = "qrcode"
    case cardInfo = "cardinfo"
    /// CARDINFO with a wrong PIN, sent on purpose.
    case wrongPIN = "cardinfo_wrong_pin"
    case reverse
    case cancel
    /// Probes (`Probes.swift`): a SETTLE sent again; a REVERSE of a trace not sent yet, and then
    /// that SETTLE (the late original); a PIN try on the connection's own card; a paid QR code
    /// offered again.
    case repeatSettle = "settle_repeat"
    case reverseUnsent = "reverse_unsent"
    case lateOriginal = "settle_late_original"
    case ownCardPIN = "own_card_pin"
    case qrReuse = "settle_qr_reuse"
    /// A probe: a traceability code sold by a settlement that stands, offered again.
    case codeReuse = "settle_code_reuse"
    /// A hospital stay (mixed mix, hospital terminals): ADMIT, FEES, FEESUNDO, DISCHARGE, ADMITCANCEL.
    case admit
    case fees
    case feesUndo = "fees_undo"
    case discharge
    case admitCancel = "admit_cancel"
    case ping
    case signIn = "signin"

    /// Creates a settlement when answered OK (and not a repeat); its fate is learnt by QUERY when
    /// the answer was lost.
    var isSettle: Bool { self == .settleByCard || self == .settleByQR || self == .discharge }
}

/// Latencies and reply codes of a run: one HDR histogram over the whole run, one per verb and one
/// per second, shared by all connections behind a `Mutex`.
public final class LoadStats: Sendable {
    public struct Second: Sendable, Codable {
        public let second: Int
        public let requests: Int
        public let errors: Int
        public let p50Micros: UInt64
        public let p99Micros: UInt64
    }

    /// Latencies above a minute are recorded as a minute.
    static let highestMicros: UInt64 = 60_000_000

    /// A histogram over a whole run (or a verb's share of it): three significant digits.
    static func runHistogram() -> Histogram<UInt64> {
        Histogram(highestTrackableValue: highestMicros, numberOfSignificantValueDigits: .three)
    }

    private struct State {
        var total = LoadStats.runHistogram()
        /// The same latencies by MSLP verb (SETTLE, CARDINFO, QRCODE, …).
        var byVerb: [Verb: Histogram<UInt64>] = [:]
        /// One histogram per second of the run, mutated in place (a copy out of a dictionary and
        /// back would copy its counts on every record).
        var perSecond: [Histogram<UInt64>]
        var errorsPerSecond: [Int]
        var codes: [String: Int] = [:]
        var operations: [OperationKind: Int] = [:]
        /// OK SETTLE replies that created a settlement (not repeats), and those paid by QR.
        var settlementsCreated = 0
        var qrSettlementsCreated = 0
        /// Connections the server closed before the end of the run (a graceful stop, say).
        var closedByServer = 0
        /// Requests in flight when a connection was lost whose fate could not be learned by QUERY.
        var unresolved = 0
        /// Attempts to connect that failed (the engine restarting, a front gone).
        var failedConnects = 0
        /// How long the run took (its `seconds`, or less when the terminals ran out of `requests`).
        var elapsed: Duration?
    }

    private let state: Mutex<State>

    /// - Parameter seconds: the run's length; later replies count in its last second.
    public init(seconds: Int) {
        let count = max(1, seconds)
        state = Mutex(State(perSecond: Array(repeating: Histogram(highestTrackableValue: Self.highestMicros,
                                                                  numberOfSignificantValueDigits: .two), count: count),
                            errorsPerSecond: Array(repeating: 0, count: count)))
    }

    /// Records one reply: latency in microseconds, its code (`OK` or the error), and the second
    /// of the run it completed in. Expected refusals (a wrong PIN sent on purpose) are not errors.
    func record(_ operation: OperationKind, micros: UInt64, code: String, second: Int, expected: Bool, createdSettlement: Bool) {
        let micros = min(micros, Self.highestMicros - 1)
        state.withLock { state in
            let second = min(max(0, second), state.perSecond.count - 1)
            _ = state.total.record(micros)
            _ = state.byVerb[operation.verb, default: Self.runHistogram()].record(micros)
            _ = state.perSecond[second].record(micros)
            state.codes[code, default: 0] += 1
            state.operations[operation, default: 0] += 1
            if code != "OK" && !expected { state.errorsPerSecond[second] += 1 }
            if createdSettlement {
                state.settlementsCreated += 1
                if operation == .settleByQR { state.qrSettlementsCreated += 1 }
            }
        }
    }

    public var requests: UInt64 { state.withLock { $0.total.totalCount } }

    public func second(_ index: Int) -> Second {
        state.withLock { state in
            guard state.perSecond.indices.contains(index) else { return Second(second: index, requests: 0, errors: 0, p50Micros: 0, p99Micros: 0) }
            let histogram = state.perSecond[index]
            return Second(second: index, requests: Int(histogram.totalCount), errors: state.errorsPerSecond[index],
                          p50Micros: histogram.valueAtPercentile(50), p99Micros: histogram.valueAtPercentile(99))
        }
    }

    public func percentile(_ p: Double) -> UInt64 { state.withLock { $0.total.valueAtPercentile(p) } }
    /// The whole run's latencies, in microseconds (for the `.hgrm` percentile distribution).
    var latencies: Histogram<UInt64> { state.withLock { $0.total } }
    /// The latencies by MSLP verb (`SETTLE`, `CARDINFO`, …), in microseconds.
    var latenciesByVerb: [String: Histogram<UInt64>] {
        state.withLock { Dictionary(uniqueKeysWithValues: $0.byVerb.map { ($0.key.rawValue, $0.value) }) }
    }
    public var maxMicros: UInt64 { state.withLock { $0.total.max } }
    public var replyCodes: [String: Int] { state.withLock { $0.codes } }
    /// Requests by operation (`settle_card`, `settle_qr`, `qrcode`, …).
    public var requestsByOperation: [String: Int] {
        state.withLock { Dictionary(uniqueKeysWithValues: $0.operations.map { ($0.key.rawValue, $0.value) }) }
    }
    public var elapsedSeconds: Double {
        state.withLock { Double(ReplyRecorder.micros($0.elapsed ?? .zero)) / 1_000_000 }
    }

    func noteFinished(after duration: Duration) {
        state.withLock { $0.elapsed = duration }
    }

    public var createdSettlements: Int { state.withLock { $0.settlementsCreated } }
    public var createdQRSettlements: Int { state.withLock { $0.qrSettlementsCreated } }
    public var connectionsClosedByServer: Int { state.withLock { $0.closedByServer } }
    public var unresolvedRequests: Int { state.withLock { $0.unresolved } }

    func noteUnresolved() {
        state.withLock { $0.unresolved += 1 }
    }

    /// A settlement whose reply was lost with its connection, found settled by QUERY afterwards.
    func noteResolvedSettlement(byQR: Bool) {
        state.withLock {
            $0.settlementsCreated += 1
            if byQR { $0.qrSettlementsCreated += 1 }
        }
    }

    /// A connection ended because the server closed it: its last request, if unanswered, counts
    /// as nothing (no reply, so no settlement is expected of it).
    func noteClosedByServer() {
        state.withLock { $0.closedByServer += 1 }
    }

    /// A reconnecting terminal tries again every 200 ms.
    public var connectAttemptsFailed: Int { state.withLock { $0.failedConnects } }

    func noteFailedConnect() {
        state.withLock { $0.failedConnects += 1 }
    }
}

/// Records replies into a run's stats, with their latency from the send (or, open loop, the
/// scheduled send) and the second of the run they completed in.
struct ReplyRecorder: Sendable {
    let stats: LoadStats
    let start: ContinuousClock.Instant

    func record(_ operation: OperationKind, _ reply: ReplyLine, sentAt: ContinuousClock.Instant, expectsRefusal: Bool = false) {
        record(operation, code: reply.ok ? "OK" : (reply.code ?? "?"), sentAt: sentAt, expectsRefusal: expectsRefusal,
               createdSettlement: operation.isSettle && reply.ok && reply.value("repeat") == nil)
    }

    /// Records a reply known only by its code (`OK` or the error).
    func record(_ operation: OperationKind, code: String, sentAt: ContinuousClock.Instant, expectsRefusal: Bool = false,
                createdSettlement: Bool = false) {
        let now = ContinuousClock.now
        stats.record(operation, micros: Self.micros(now - sentAt), code: code, second: Int((now - start).components.seconds),
                     expected: expectsRefusal, createdSettlement: createdSettlement)
    }

    static func micros(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
    }
}
