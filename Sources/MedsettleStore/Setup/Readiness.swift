import PGClient
import Synchronization

/// Whether the engine's database answers and its schema is the one this binary ships (every
/// migration applied, none changed since): what `GET /readyz` tells a load balancer. One
/// connection of its own, kept between checks and replaced when lost, so that a check never waits
/// for the engine's pool and an outage is seen at the next check (a refused connection fails at
/// once; an unreachable host within the connect timeout).
public final class ReadinessProbe: Sendable {
    public enum Verdict: Sendable, Equatable {
        case ready
        case notReady(String)
    }

    private let conninfo: String
    private let connection = Mutex<PGConnection?>(nil)
    /// Bounds the check's own statements: a stuck database is not ready.
    static let settings = [(name: "statement_timeout", value: "2000"), (name: "application_name", value: "medsettle-readyz")]

    public init(conninfo: String) { self.conninfo = conninfo }

    /// Checks now; concurrent checks wait for each other (each is short and bounded).
    public func check() -> Verdict {
        connection.withLock { cached in
            // A kept connection may have died with its server since the last check: then one more
            // try on a fresh one tells a restarted database from one that is down.
            if let kept = cached, kept.isHealthy, let verdict = try? Self.verdict(Migrator.status(kept)) {
                return verdict
            }
            cached = nil
            do {
                let fresh = try PGConnection(conninfo: conninfo, settings: Self.settings)
                let verdict = Self.verdict(try Migrator.status(fresh))
                cached = fresh
                return verdict
            } catch {
                return .notReady("database: \(error)")
            }
        }
    }

    static func verdict(_ entries: [Migrator.Entry]) -> Verdict {
        let pending = entries.filter { $0.state == .pending }.map(\.name)
        let changed = entries.filter { $0.state == .changed }.map(\.name)
        if !changed.isEmpty { return .notReady("schema: changed after being applied: \(changed.joined(separator: ", "))") }
        if !pending.isEmpty { return .notReady("schema: not applied yet: \(pending.joined(separator: ", ")) (run medsettle migrate)") }
        return .ready
    }
}
