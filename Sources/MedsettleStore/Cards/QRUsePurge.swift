import MedsettleCore
import PGClient

/// Deletes the records of used QR tokens (`qr_use`) once they can no longer matter: a token past
/// its expiry is refused as `QR_EXPIRED` before `qr_use` is consulted, so its row only grows the
/// table and its index. Rows go in small batches (each one short transaction, its rows locked
/// with SKIP LOCKED so that two fronts purging at once do not wait for each other) and only
/// `margin` seconds after the expiry, by the engine's clock: a front whose clock lags this one's
/// by less than that still finds the use of a token it takes for valid.
public struct QRUsePurge: Sendable {
    /// Seconds past its expiry a used token's row is kept.
    public static let margin: Int64 = 300

    let pool: PGPool
    let clock: any Clock

    public init(pool: PGPool, clock: any Clock) {
        self.pool = pool
        self.clock = clock
    }

    /// Deletes at most `limit` rows whose token expired over `margin` seconds ago; returns how many.
    public func purgeBatch(limit: Int) throws -> Int {
        let before = clock.now() - Self.margin
        return try pool.withConnection { connection in
            Int(try connection.query(QRUsePurgeSQL.purge(before, Int64(limit))).first?.count ?? 0)
        }
    }
}

enum QRUsePurgeSQL {
    /// The oldest expired rows first (the `qr_use_expires` index), at most $2 of them.
    static let purge = PGStatement<PGCount, Int64, Int64>("qr_use_purge", """
        WITH gone AS (
            DELETE FROM qr_use WHERE token_id IN (
                SELECT token_id FROM qr_use WHERE expires_at < to_timestamp($1::bigint)
                ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING 1)
        SELECT count(*) AS count FROM gone
        """)
}
