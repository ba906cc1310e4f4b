import LoadData
import NIOSSL
/// What one load run does.
public struct LoadConfiguration: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// N terminals, each waits for its reply before the next request.
        case closed
        /// A fixed arrival rate; latency counts from the scheduled send time, so stalls show.
        case open
    }

    public enum Mix: String, Sendable, CaseIterable {
        /// Only pharmacy SETTLE of 1–5 lines.
        case settle
        /// Mostly SETTLE (some paid by QR, some with traced drugs), some CARDINFO, wrong PINs,
        /// REVERSE and CANCEL; every fourth terminal a hospital's, which also admits, uploads
        /// and withdraws fees, discharges and cancels admissions.
        case mixed
        /// Only PING, `pipeline` in flight per connection: the front alone, no database.
        case ping
        /// Connections sign in and stay quiet for the run; at the end a sample must answer PING.
        case idle
        /// Connections that never sign in and mean harm (`HostileLoad`): they never read, send a
        /// byte a second, flood SIGNIN with wrong macs or pipeline malformed lines, until the
        /// engine closes each; all must be closed by the engine.
        case hostile
    }

    public var host = "127.0.0.1"
    public var port = 7411
    /// Speak TLS to the engine (`MSLPClientTLS.context`), or plain TCP when nil.
    public var tls: NIOSSLContext?
    public var connections = 32
    /// The run's length; with `requests`, its upper bound.
    public var seconds = 20
    /// Mixed mix: each terminal stops after drawing this many requests from the mix (like
    /// pgbench's -t; a QR payment's QRCODE and a probe's second request come with theirs), or at
    /// the end of `seconds` if that comes first. A fixed volume whatever the machine's speed.
    public var requests: Int?
    public var mode = Mode.closed
    /// Requests per second in open-loop mode, over all connections.
    public var rate = 2_000
    public var mix = Mix.mixed
    /// People 1…people of `medsettle seed` are drawn from.
    public var people = 100_000
    /// The first generated terminal used (connection k signs in as LOAD-P(first + k mod terminals)).
    public var firstTerminal = 1
    /// Generated terminals the connections sign in as, in turn; nil: one per connection. Many
    /// connections may sign in as one terminal (the idle mix's thousands do).
    public var terminals: Int?
    /// PINGs in flight per connection in the ping mix (like redis-benchmark's -P).
    public var pipeline = 1
    /// Settle and mixed (task-driven) loads: after a lost connection, connect again, resolve the
    /// request in flight with QUERY and go on (as terminals must when the engine restarts).
    public var reconnect = false
    /// Connections being opened and signed in at once (idle mix), so the listen backlog is not overrun.
    public var connectConcurrency = 64
    /// Held connections that must answer a PING at the end of the idle mix.
    public var pingSample = 100
    /// Settle mix: every line is a traced drug carrying a fresh traceability code per package.
    public var tracedLines = false

    /// Hostile mix: the local addresses its connections come from, in turn (empty: the kernel's choice).
    public var sourceAddresses: [String] = []
    /// Hostile mix: after `seconds`, how long every connection still open has to be closed by the engine.
    public var hostileDrainSeconds = 40
    /// Hostile mix: how long a slot waits after the engine closed its connection before the next.
    public var hostilePause: Duration = .seconds(1)
    /// Hostile mix: how long the silent kind holds off reading (it reads then only to see the close).
    public var hostileSilentSeconds = 20
    /// Hostile mix: the kinds of connection, in turn (empty: all four).
    public var hostileKinds: [String] = []
    /// Hostile mix: the engine's longest line (`max-line`); some garbage lines are longer.
    public var hostileMaxLine = 16_384

    public init() {}

    /// The generated terminal connection `index` signs in as.
    func terminal(forConnection index: Int) -> Int {
        firstTerminal + index % max(1, terminals ?? connections)
    }

    /// The mixed mix: every fourth connection is a hospital's (`LOAD-H…`), the rest pharmacies'.
    func isHospital(connection index: Int) -> Bool { mix == .mixed && index % 4 == 3 }

    /// The name of the generated terminal connection `index` signs in as.
    func terminalName(forConnection index: Int) -> String {
        let number = terminal(forConnection: index)
        return isHospital(connection: index) ? LoadTestData.hospitalTerminal(number) : LoadTestData.terminal(number)
    }

    /// The mixed mix gives each connection a card of its own for the lockout probe — the last
    /// `connections` people — when that leaves most people to draw from.
    var reservesOwnCards: Bool { mix == .mixed && people >= 4 * connections }

    /// People 1…drawnPeople are drawn for requests; the rest are the connections' own cards.
    var drawnPeople: Int { reservesOwnCards ? people - connections : people }

    /// What is wrong with this configuration, if anything.
    public var problem: String? {
        if connections < 1 { return "--connections must be positive" }
        if seconds < 1 { return "--seconds must be positive" }
        if mode == .open && rate < 1 { return "--rate must be positive" }
        if mode == .open && (mix == .ping || mix == .idle || mix == .hostile) { return "the \(mix.rawValue) mix runs closed loop only" }
        if !(1...1_024).contains(pipeline) { return "--pipeline must be 1-1024" }
        if pipeline > 1 && mix != .ping { return "--pipeline is for the ping mix" }
        if let terminals, !(1...9_999).contains(terminals) { return "--terminals must be 1-9999" }
        if terminals == nil && connections > 9_999 { return "more than 9999 connections need --terminals" }
        if !(1...1_024).contains(connectConcurrency) { return "--connect-concurrency must be 1-1024" }
        if pingSample < 0 { return "--ping-sample must not be negative" }
        if let requests, requests < 1 { return "--requests must be positive" }
        if requests != nil && mix != .mixed { return "--requests is for the mixed mix" }
        if tracedLines && mix != .settle { return "--traced is for the settle mix" }
        if !sourceAddresses.isEmpty && mix != .hostile { return "--source-addresses is for the hostile mix" }
        if mix == .hostile && tls != nil { return "the hostile mix speaks plain TCP" }
        return nil
    }
}
