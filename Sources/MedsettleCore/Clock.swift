#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The source of "now" for business dates, QR expiry and event times. Injected everywhere so that
/// tests can cross midnight, year ends and token expiry deterministically.
///
/// Note: the name shadows the standard library's `_Concurrency.Clock` in modules that import
/// MedsettleCore; spell that one `_Concurrency.Clock` if it is ever needed there.
public protocol Clock: Sendable {
    /// The current time in whole unix seconds.
    func now() -> Int64
}

extension Clock {
    /// Today's business date (Asia/Shanghai).
    public func today() -> BusinessDate { BusinessDate(unixSeconds: now()) }
}

/// The system's real-time clock.
public struct SystemClock: Clock {
    public init() {}

    public func now() -> Int64 { Int64(time(nil)) }
}

/// A clock stopped at one instant.
public struct FixedClock: Clock {
    public let seconds: Int64

    public init(_ seconds: Int64) { self.seconds = seconds }

    public func now() -> Int64 { seconds }
}

/// A clock that tests set and advance; safe to share between tasks.
@available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
public final class ManualClock: Clock {
    private let seconds: Mutex<Int64>

    public init(_ seconds: Int64) { self.seconds = Mutex(seconds) }

    public func now() -> Int64 { seconds.withLock { $0 } }

    public func set(_ value: Int64) { seconds.withLock { $0 = value } }

    /// Moves the clock forward (or back, for a negative `delta`) and returns the new time.
    @discardableResult
    public func advance(by delta: Int64) -> Int64 {
        seconds.withLock { value in
            value += delta
            return value
        }
    }
}
