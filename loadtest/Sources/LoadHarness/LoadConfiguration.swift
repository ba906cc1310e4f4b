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
        /// Mostly SETTLE, some CARDINFO, wrong PINs, REVERSE, CANCEL and QR payments.
        case mixed
    }

    public var host = "127.0.0.1"
    public var port = 7411
    public var connections = 32
    public var seconds = 20
    public var mode = Mode.closed
    /// Requests per second in open-loop mode, over all connections.
    public var rate = 2_000
    public var mix = Mix.mixed
    /// People 1…people of `medsettle seed` are drawn from.
    public var people = 100_000
    /// The first generated terminal used (connection k signs in as LOAD-P(first + k)).
    public var firstTerminal = 1

    public init() {}
}
