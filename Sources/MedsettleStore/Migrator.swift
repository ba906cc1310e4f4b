import MedsettleSQL
import PGClient

/// Applies the numbered migrations of `sql/migrations` in order, each in its own transaction,
/// recording each in `schema_migrations`. Safe to re-run and to run from several processes at
/// once (an advisory lock serialises them).
public enum Migrator {
    /// Returns the names of the migrations applied by this call.
    @discardableResult
    public static func migrate(_ connection: PGConnection) throws -> [String] {
        let migrations = try SQLResources.migrations()
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [String] = []
        for migration in migrations {
            let done: Bool = try connection.transaction {
                // One migrator at a time; the lock ends with the transaction.
                try connection.query("SELECT pg_advisory_xact_lock(7411001)")
                let seen = try connection.query("SELECT 1 FROM schema_migrations WHERE version = $1", [migration.version])
                if seen.rowCount > 0 { return false }
                try connection.execute(migration.sql)
                try connection.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                     [migration.version, migration.name])
                return true
            }
            if done { applied.append(migration.name) }
        }
        return applied
    }
}
