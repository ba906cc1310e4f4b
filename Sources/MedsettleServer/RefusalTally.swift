import MedsettleCore
import Synchronization

/// The refusals this engine answered on the current business date, by error code, for the
/// console's "refusals by code". Refusals are not stored in the database (only what was done is),
/// so the tally is this process's own: it starts empty at start-up and at each new business date,
/// and each front behind a balancer has its own (the fleet's total is `medsettle_requests_total`).
public final class RefusalTally: Sendable {
    private struct State {
        var day: BusinessDate?
        var counts: [String: Int64] = [:]
    }

    private let state = Mutex(State())
    private let today: @Sendable () -> BusinessDate

    /// - Parameter today: the business date now (the store's clock).
    public init(today: @escaping @Sendable () -> BusinessDate) { self.today = today }

    /// One refusal with `code`.
    public func record(_ code: String) {
        let now = today()
        state.withLock { state in
            if state.day != now {
                state.day = now
                state.counts = [:]
            }
            state.counts[code, default: 0] += 1
        }
    }

    /// The counts of `date` (empty for any other date than the tally's).
    public func counts(on date: BusinessDate) -> [String: Int64] {
        state.withLock { $0.day == date ? $0.counts : [:] }
    }
}
