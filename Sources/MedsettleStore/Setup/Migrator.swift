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
            let done: Bool = try connection.withTransaction { transaction in
                // One migrator at a time; the lock ends with the transaction.
                let (_, seen) = try transaction.pipeline(MigratorSQL.lock(), MigratorSQL.applied(Int64(migration.version)))
                guard seen.isEmpty else { return false }
                try transaction.execute(migration.sql)
                _ = try transaction.commit(with: MigratorSQL.record(Int64(migration.version), migration.name))
                return true
            }
            if done { applied.append(migration.name) }
        }
        return applied
    }
}

enum MigratorSQL {
    struct Version: PGRowDecodable {
        let version: Int
        init(_ row: inout PGRow) { version = row("version") }
    }

    static let lock = PGStatement<PGNoRows>("migrate_lock", "SELECT FROM pg_advisory_xact_lock(7411001)")
    static let applied = PGStatement<Version, Int64>("migrate_applied", "SELECT version FROM schema_migrations WHERE version = $1")
    static let record = PGStatement<PGNoRows, Int64, String>("migrate_record", """
        INSERT INTO schema_migrations (version, name) VALUES ($1, $2)
        """)
}
