import Logging
import Synchronization

/// Keeps one warning that repeats with every request down to a line a second. While the database
/// is out of reach every request fails the same way: thousands of identical lines a second would
/// bury everything else in the log and cost the engine more than the refusals. The first
/// occurrence is logged at once; those within the next second are only counted, and the count
/// rides on the next line logged (`suppressed=N`). Every refusal is still counted in the metrics
/// (`medsettle_requests_total{code="UNAVAILABLE"}`).
final class LogThrottle: Sendable {
    private struct State {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let interval: Duration
    private let state = Mutex(State())

    init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// Logs the warning unless a line went out less than `interval` ago, with the number of
    /// occurrences suppressed since that line.
    func warning(_ logger: Logger, _ message: Logger.Message, metadata: Logger.Metadata,
                 now: ContinuousClock.Instant = .now) {
        let suppressed: Int? = state.withLock { state in
            if let last = state.lastLogged, now - last < interval {
                state.suppressed += 1
                return nil
            }
            defer { state = State(lastLogged: now, suppressed: 0) }
            return state.suppressed
        }
        guard let suppressed else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.warning(message, metadata: metadata)
    }
}
