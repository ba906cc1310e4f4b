import PGClient
import Synchronization

/// Settlement ids taken from `settlement`'s sequence a block at a time, for the settlement rounds
/// and discharges of this front: each takes its ids from the block in memory, and only one that
/// finds too few asks the sequence for a new block, in its read pipeline. Most rounds therefore
/// send one statement fewer (the sequence call was one of nine). The block is kept sorted, so
/// one front hands its ids out in ascending order as the sequence did, but for two rounds that
/// both found it short at once (their blocks then interleave).
///
/// What it costs: ids are unique as ever (the sequence never gives a value twice) but, as with
/// any sequence, not gap-free — a block still held when the engine stops is never used, and
/// neither are the ids of a round that rolled back — and two fronts (or two rounds of one) hand
/// out ids from different blocks at once, so id order is not commit order. It never was (two
/// rounds take ids, then commit in either order); an id names a settlement, and the day's export
/// lists a day's settlements by it as a stable order, not as a clock.
final class SettlementIDs: Sendable {
    /// Ids asked of the sequence at once.
    static let block = 64

    private let reserve = Mutex<[Int64]>([])

    /// `count` ids for one round or discharge: from the block in memory, or, when it holds too
    /// few, from the sequence call the draw puts in the caller's read pipeline (`query`).
    func draw(_ count: Int) -> Draw {
        precondition(count > 0, "a round settles something")
        let reserved = reserve.withLock { reserve -> [Int64]? in
            guard reserve.count >= count else { return nil }
            defer { reserve.removeFirst(count) }
            return Array(reserve.prefix(count))
        }
        return Draw(source: self, count: count, reserved: reserved)
    }

    /// Ids being drawn: `query` goes into the read pipeline, and `ids(from:)` reads its rows.
    struct Draw {
        fileprivate let source: SettlementIDs
        let count: Int
        /// Taken from the block; nil: the sequence is asked.
        let reserved: [Int64]?

        /// The sequence call for a new block, or nothing when the block had enough.
        var query: PGBound<AllocatedID> {
            reserved == nil ? WriteSetSQL.allocateIDs(Int64(max(count, SettlementIDs.block))) : .noRows
        }

        /// The `count` ids, from the block or from `query`'s rows (their rest joins the block).
        func ids(from allocated: [AllocatedID]) -> [Int64] {
            if let reserved { return reserved }
            precondition(allocated.count >= count, "the sequence gave every id asked for")
            let ids = allocated.map(\.id)
            source.reserve.withLock { reserve in
                reserve.append(contentsOf: ids.dropFirst(count))
                reserve.sort()
            }
            return Array(ids.prefix(count))
        }
    }
}
