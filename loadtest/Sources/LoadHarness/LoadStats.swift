import Foundation
import Histogram

/// Latencies and reply codes of a run: one HDR histogram over the whole run and one per second,
/// shared by all connections under a lock (a few thousand records a second).
public final class LoadStats: @unchecked Sendable {
    public struct Second: Sendable, Codable {
        public let second: Int
        public let requests: Int
        public let errors: Int
        public let p50Micros: UInt64
        public let p99Micros: UInt64
    }

    private let lock = NSLock()
    private var total = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    private var perSecond: [Int: Histogram<UInt64>] = [:]
    private var errorsPerSecond: [Int: Int] = [:]
    private(set) var codes: [String: Int] = [:]
    /// OK SETTLE replies that created a settlement (not repeats).
    private(set) var settlementsCreated = 0

    public init() {}

    /// Records one reply: latency in microseconds, its code (`OK` or the error), and the second
    /// of the run it completed in. Expected refusals (a wrong PIN sent on purpose) are not errors.
    func record(micros: UInt64, code: String, second: Int, expected: Bool, createdSettlement: Bool) {
        lock.lock()
        defer { lock.unlock() }
        _ = total.record(min(micros, 59_999_999))
        var histogram = perSecond[second] ?? Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .two)
        _ = histogram.record(min(micros, 59_999_999))
        perSecond[second] = histogram
        codes[code, default: 0] += 1
        if code != "OK" && !expected { errorsPerSecond[second, default: 0] += 1 }
        if createdSettlement { settlementsCreated += 1 }
    }

    public var requests: UInt64 { lock.withLock { total.totalCount } }

    public func second(_ index: Int) -> Second {
        lock.withLock {
            let histogram = perSecond[index]
            return Second(second: index, requests: Int(histogram?.totalCount ?? 0), errors: errorsPerSecond[index] ?? 0,
                          p50Micros: histogram?.valueAtPercentile(50) ?? 0, p99Micros: histogram?.valueAtPercentile(99) ?? 0)
        }
    }

    public func percentile(_ p: Double) -> UInt64 { lock.withLock { total.valueAtPercentile(p) } }
    public var maxMicros: UInt64 { lock.withLock { total.max } }
    public var replyCodes: [String: Int] { lock.withLock { codes } }
    public var createdSettlements: Int { lock.withLock { settlementsCreated } }
}
