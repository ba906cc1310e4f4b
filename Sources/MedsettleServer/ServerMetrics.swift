import CoreMetrics
import MSLP
import MedsettleCore
import MedsettleStore
import PGClient
import Synchronization

/// The front's metrics, through swift-metrics (a Prometheus registry in `serve --metrics`; the
/// no-op factory otherwise). Names follow Prometheus conventions: `_total` counters, base units
/// (seconds, fen) in the name. docs/OPERATIONS.md lists them all.
public final class ServerMetrics: Sendable {
    private let factory: any MetricsFactory
    /// Per (verb, code) and per verb: created on first use, then reused; one lock for both, taken
    /// once per request.
    private struct RequestInstruments {
        struct Code: Hashable {
            let verb: String
            let code: String
        }
        var counters: [Code: Counter] = [:]
        var timers: [String: Timer] = [:]
    }
    private let requestInstruments = Mutex(RequestInstruments())
    let connectionsOpen: Meter
    let connectionsRefused: Counter
    let connectionsRefusedPerAddress: Counter
    let signInTimeouts: Counter
    let signInBlocks: Counter
    let requestsInFlight: Meter
    let requestsShed: Counter
    private let settlements: [TerminalKind: Counter]
    private let settledFen: [TerminalKind: Counter]
    private let accountFen: [TerminalKind: Counter]
    /// Paid from family payers' accounts: apart from `accountFen`, so the two add up to what the
    /// personal accounts paid and each can be reconciled on its own.
    private let aidFen: [TerminalKind: Counter]
    private let fundFen: [TerminalKind: Counter]
    let cardLocks: Counter
    /// The day's refusals by code, for the console (nil: not kept).
    private let refusals: RefusalTally?

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance, refusals: RefusalTally? = nil) {
        self.factory = factory
        self.refusals = refusals
        connectionsOpen = Meter(label: "medsettle_connections_open", factory: factory)
        connectionsRefused = Counter(label: "medsettle_connections_refused_total", factory: factory)
        connectionsRefusedPerAddress = Counter(label: "medsettle_connections_refused_per_address_total", factory: factory)
        signInTimeouts = Counter(label: "medsettle_signin_timeouts_total", factory: factory)
        signInBlocks = Counter(label: "medsettle_signin_blocks_total", factory: factory)
        requestsInFlight = Meter(label: "medsettle_requests_in_flight", factory: factory)
        requestsShed = Counter(label: "medsettle_requests_shed_total", factory: factory)
        func byKind(_ label: String) -> [TerminalKind: Counter] {
            Dictionary(uniqueKeysWithValues: TerminalKind.allCases.map {
                ($0, Counter(label: label, dimensions: [("kind", $0.rawValue)], factory: factory))
            })
        }
        settlements = byKind("medsettle_settlements_total")
        settledFen = byKind("medsettle_settled_fen_total")
        accountFen = byKind("medsettle_settled_account_fen_total")
        aidFen = byKind("medsettle_settled_aid_fen_total")
        fundFen = byKind("medsettle_settled_fund_fen_total")
        cardLocks = Counter(label: "medsettle_card_locks_total", factory: factory)
    }

    /// One answered request: its count by verb and code, and its latency by verb.
    func answered(verb: String, code: String, nanoseconds: Int64) {
        let factory = factory
        let (counter, timer) = requestInstruments.withLock { instruments in
            let key = RequestInstruments.Code(verb: verb, code: code)
            let counter = instruments.counters[key] ?? {
                let counter = Counter(label: "medsettle_requests_total", dimensions: [("verb", verb), ("code", code)], factory: factory)
                instruments.counters[key] = counter
                return counter
            }()
            let timer = instruments.timers[verb] ?? {
                let timer = Timer(label: "medsettle_request_duration_seconds", dimensions: [("verb", verb)], factory: factory)
                instruments.timers[verb] = timer
                return timer
            }()
            return (counter, timer)
        }
        counter.increment()
        timer.recordNanoseconds(nanoseconds)
        if code != "OK" { refusals?.record(code) }
    }

    /// What an answer says about money and cards: a card locked by this wrong PIN, a settlement
    /// made (not a repeat) and its fen.
    func observe(_ answer: OperationAnswer, kind: TerminalKind) {
        switch answer {
        case .failure(let refusal):
            if refusal.lockedCard { cardLocks.increment() }
        case .success(.settled(let settled)) where !settled.isRepeat:
            let split = settled.settlement.split
            settlements[kind]?.increment()
            settledFen[kind]?.increment(by: split.total)
            accountFen[kind]?.increment(by: split.account)
            if split.aid > 0 { aidFen[kind]?.increment(by: split.aid) }
            fundFen[kind]?.increment(by: split.fund)
        case .success:
            break
        }
    }
}

/// The database pool's use as metrics: connections in use and open, the wait for one, and the
/// pool's size (`pool-size`), against which saturation is measured.
public struct PoolMetrics: PGPoolObserver {
    private let inUse: Gauge
    private let open: Gauge
    private let wait: Timer

    public init(factory: any MetricsFactory, size: Int) {
        inUse = Gauge(label: "medsettle_db_pool_connections_in_use", factory: factory)
        open = Gauge(label: "medsettle_db_pool_connections_open", factory: factory)
        wait = Timer(label: "medsettle_db_pool_wait_seconds", factory: factory)
        Gauge(label: "medsettle_db_pool_connections_max", factory: factory).record(size)
    }

    public func acquired(waitedNanoseconds: Int64) { wait.recordNanoseconds(waitedNanoseconds) }

    public func usage(inUse: Int, open: Int) {
        self.inUse.record(inUse)
        self.open.record(open)
    }
}
