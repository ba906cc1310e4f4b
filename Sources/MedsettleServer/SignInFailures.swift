import NIOCore
import Synchronization

/// Failed sign-ins by client address, shared by every connection of one front. A connection
/// still ends after its own 3rd failure (PROTOCOL.md); this stops a client that reconnects to go
/// on guessing: at `maxFailures` failures from one address within `window`, every SIGNIN from
/// that address is refused for `cooldown`, without its mac being looked at (a right one too:
/// the refusal must not tell a guess that hit from one that missed).
///
/// The table holds at most `capacity` addresses. A new address past that pushes out the one that
/// has been in it longest, so a client with many addresses cannot grow it; it can only make the
/// table forget, which gains it nothing those many addresses had not given it already. Entries
/// are reset in place when their window or cool-down is over, so the table and its order of
/// arrival always hold the same addresses.
final class SignInFailures: Sendable {
    struct Limits: Sendable {
        /// 0: no limit (nothing is counted).
        var maxFailures: Int
        var window: TimeAmount
        var cooldown: TimeAmount
        var capacity: Int
    }

    private struct Entry {
        var windowStart: NIODeadline
        var failures: Int
        var blockedUntil: NIODeadline?
    }

    private struct Table {
        var entries: [ClientAddress: Entry] = [:]
        /// The addresses of `entries`, the longest known first.
        var arrival = CircularBuffer<ClientAddress>()
    }

    let limits: Limits
    private let table = Mutex(Table())

    /// Addresses remembered at most: 16 384 entries are well under 2 MB.
    static let defaultCapacity = 16_384

    init(_ limits: Limits) {
        precondition(limits.capacity >= 1, "the table holds at least one address")
        self.limits = limits
    }

    /// How much longer SIGNINs from `address` are refused, or nil when they are not.
    func blocked(_ address: ClientAddress, now: NIODeadline) -> TimeAmount? {
        guard limits.maxFailures > 0 else { return nil }
        return table.withLock { table in
            guard let until = table.entries[address]?.blockedUntil, now < until else { return nil }
            return until - now
        }
    }

    /// Counts a failed sign-in from `address`; true when it is the one that blocks the address.
    func recordFailure(_ address: ClientAddress, now: NIODeadline) -> Bool {
        guard limits.maxFailures > 0 else { return false }
        let limits = self.limits
        return table.withLock { table in
            var entry: Entry
            if let known = table.entries[address] {
                entry = known
                if let until = entry.blockedUntil {
                    guard now >= until else { return false } // already blocked
                    entry = Entry(windowStart: now, failures: 0, blockedUntil: nil)
                } else if now - entry.windowStart >= limits.window {
                    entry = Entry(windowStart: now, failures: 0, blockedUntil: nil)
                }
            } else {
                if table.entries.count >= limits.capacity, let oldest = table.arrival.popFirst() {
                    table.entries.removeValue(forKey: oldest)
                }
                table.arrival.append(address)
                entry = Entry(windowStart: now, failures: 0, blockedUntil: nil)
            }
            entry.failures += 1
            let blocks = entry.failures >= limits.maxFailures
            if blocks { entry.blockedUntil = now + limits.cooldown }
            table.entries[address] = entry
            return blocks
        }
    }

    /// Addresses in the table.
    var count: Int { table.withLock { $0.entries.count } }
}
