import Crypto
import MedsettleCore
import MedsettleSQL
import PGClient

/// Applies the numbered migrations of `sql/migrations` in order, each in its own transaction,
/// recording each with the SHA-256 of its file in `schema_migrations`. Safe to re-run and to run
/// from several processes at once (an advisory lock serialises them), and on a live database:
///
/// - every migration waits at most `lockTimeout` for a lock (`SET LOCAL lock_timeout`). A
///   migration that needs a table's exclusive lock queues behind the transactions using the
///   table, and every settlement that touches the table then queues behind the migration; giving
///   up after a few seconds bounds that stall. A migration that gives up is rolled back whole
///   (`MigrationFailure.lockTimeout`) and can be retried as it is.
/// - an applied migration whose file has changed since refuses the whole run before anything is
///   applied (`MigrationFailure.changed`): the database no longer matches what the files say, and
///   running the ones after it would build on a schema nobody wrote down.
public enum Migrator {
    /// A role name `migrate --app-role` cannot write into SQL unquoted.
    public struct BadRoleName: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "--app-role \(name): a role name here is 1-63 of a-z 0-9 _, not starting with a digit" }
    }

    /// Grants the application role what serving needs and nothing more (docs/OPERATIONS.md §9,
    /// `sql/roles/app_grants.sql`), as the owner, after the migrations: idempotent, and run after
    /// every migrate so that reference tables a migration adds are read only for it too.
    public static func grantApplicationRole(_ connection: PGConnection, role: String) throws {
        guard let grants = try SQLResources.applicationGrants(role: role) else { throw BadRoleName(name: role) }
        try connection.execute(grants)
    }

    /// How long a migration waits for a lock unless told otherwise.
    public static let defaultLockTimeoutMilliseconds = 3_000

    /// Where a migration stands (`medsettle migrate --status`).
    public enum State: String, Sendable {
        /// Applied, and its file is as it was then (or applied before checksums were recorded).
        case applied
        /// Shipped and not applied yet.
        case pending
        /// Applied, and its file has changed since: `migrate` refuses to run.
        case changed
        /// Applied, and not shipped in this binary (a newer binary applied it).
        case unknown
    }

    public struct Entry: Sendable, Equatable {
        public let version: Int
        public let name: String
        public let state: State
        /// UTC, `YYYY-MM-DDTHH:MM:SSZ`; nil when pending.
        public let appliedAt: String?
    }

    /// The lowercase hex SHA-256 of a migration's file.
    public static func checksum(_ migration: SQLResources.Migration) -> String {
        encodeHex(Array(SHA256.hash(data: migration.bytes)))
    }

    /// Applies what is pending; returns the names of the migrations applied by this call.
    /// - Parameter migrations: the shipped ones unless given (tests bring their own).
    @discardableResult
    public static func migrate(_ connection: PGConnection, lockTimeoutMilliseconds: Int = defaultLockTimeoutMilliseconds,
                               migrations given: [SQLResources.Migration]? = nil) throws -> [String] {
        precondition(lockTimeoutMilliseconds > 0, "a migration's lock wait is bounded")
        let migrations = try given ?? SQLResources.migrations()
        let lockTimeout = "SET LOCAL lock_timeout = \(lockTimeoutMilliseconds)"
        func bounded<T>(_ what: String, applied: [String], _ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch let error as PGError where error.isLockTimeout {
                throw MigrationFailure.lockTimeout(waitedMilliseconds: lockTimeoutMilliseconds, migration: what, appliedBefore: applied)
            }
        }

        // The bookkeeping, and the check of what was applied, before anything is applied.
        let applied: Set<Int> = try bounded("schema_migrations (the record of applied migrations)", applied: []) {
            try connection.withTransaction { transaction in
                _ = try transaction.query(MigratorSQL.lock())
                try transaction.execute(lockTimeout)
                try transaction.execute("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version    integer PRIMARY KEY,
                        name       text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    );
                    ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text
                    """)
                let rows = try transaction.query(MigratorSQL.appliedAll())
                let files = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
                var changed: [String] = []
                for row in rows {
                    guard let file = files[row.version] else { continue }
                    guard let recorded = row.checksum else {
                        // Applied before checksums were recorded: the file as it is now is taken
                        // as the one that was applied, once.
                        _ = try transaction.query(MigratorSQL.adopt(Int64(row.version), checksum(file)))
                        continue
                    }
                    if recorded != checksum(file) { changed.append(file.name) }
                }
                guard changed.isEmpty else { throw MigrationFailure.changed(changed) }
                try transaction.commit()
                return Set(rows.map(\.version))
            }
        }

        var done: [String] = []
        for migration in migrations where !applied.contains(migration.version) {
            let ran: Bool = try bounded(migration.name, applied: done) {
                try connection.withTransaction { transaction in
                    // One migrator at a time; the lock ends with the transaction. It is taken
                    // before the timeout is set: waiting for another migrator stalls nobody.
                    _ = try transaction.query(MigratorSQL.lock())
                    try transaction.execute(lockTimeout)
                    guard try transaction.query(MigratorSQL.applied(Int64(migration.version))).isEmpty else { return false }
                    try transaction.execute(migration.sql)
                    _ = try transaction.commit(with: MigratorSQL.record(Int64(migration.version), migration.name, checksum(migration)))
                    return true
                }
            }
            if ran { done.append(migration.name) }
        }
        return done
    }

    /// Every shipped migration and every applied one, in version order. Reads only: a database
    /// never migrated lists every migration as pending.
    public static func status(_ connection: PGConnection, migrations given: [SQLResources.Migration]? = nil) throws -> [Entry] {
        let migrations = try given ?? SQLResources.migrations()
        let rows: [MigratorSQL.Applied]
        switch try connection.query(MigratorSQL.bookkeeping()).first {
        case nil: rows = []
        case let table? where table.hasChecksum: rows = try connection.query(MigratorSQL.appliedAll())
        default: rows = try connection.query(MigratorSQL.appliedBeforeChecksums())
        }
        let recorded = Dictionary(uniqueKeysWithValues: rows.map { ($0.version, $0) })
        var entries: [Entry] = migrations.map { file in
            guard let row = recorded[file.version] else { return Entry(version: file.version, name: file.name, state: .pending, appliedAt: nil) }
            let same = row.checksum.map { $0 == checksum(file) } ?? true
            return Entry(version: file.version, name: file.name, state: same ? .applied : .changed, appliedAt: row.appliedAt)
        }
        let shipped = Set(migrations.map(\.version))
        entries += rows.filter { !shipped.contains($0.version) }.map {
            Entry(version: $0.version, name: $0.name, state: .unknown, appliedAt: $0.appliedAt)
        }
        return entries.sorted { $0.version < $1.version }
    }
}

/// Why `Migrator.migrate` stopped.
public enum MigrationFailure: Error, CustomStringConvertible, Equatable {
    /// Applied migrations whose files have changed since: nothing was applied.
    case changed([String])
    /// `migration` waited its whole lock timeout: nothing of it was applied; those before it were.
    case lockTimeout(waitedMilliseconds: Int, migration: String, appliedBefore: [String])

    public var description: String {
        switch self {
        case .changed(let files):
            return "\(files.joined(separator: ", ")) \(files.count == 1 ? "was" : "were") changed after being applied "
                + "(its SHA-256 differs from the one recorded in schema_migrations); nothing was applied. "
                + "An applied migration is never edited: restore the file and put the change in a new migration."
        case .lockTimeout(let waited, let migration, let before):
            let seconds = waited % 1000 == 0 ? "\(waited / 1000) s" : "\(waited) ms"
            return "\(migration) waited \(seconds) for a lock on a table it changes, held by another session "
                + "(a long query or an open transaction), and gave up so as not to stall the settlements queued "
                + "behind it; nothing of \(migration) was applied"
                + (before.isEmpty ? "" : " (applied before it: \(before.joined(separator: ", ")))")
                + ". Retry when that session has finished (pg_stat_activity shows who holds it), "
                + "or allow a longer wait with --migration-lock-timeout."
        }
    }
}

enum MigratorSQL {
    struct Version: PGRowDecodable {
        let version: Int
        init(_ row: inout PGRow) { version = row("version") }
    }

    struct Applied: PGRowDecodable {
        let version: Int
        let name: String
        let appliedAt: String
        let checksum: String?
        init(_ row: inout PGRow) {
            version = row("version")
            name = row("name")
            appliedAt = row("applied_at")
            checksum = row("checksum")
        }
    }

    struct Bookkeeping: PGRowDecodable {
        let hasChecksum: Bool
        init(_ row: inout PGRow) { hasChecksum = row("has_checksum") }
    }

    static let lock = PGStatement<PGNoRows>("migrate_lock", "SELECT FROM pg_advisory_xact_lock(7411001)")
    static let applied = PGStatement<Version, Int64>("migrate_applied", "SELECT version FROM schema_migrations WHERE version = $1")
    static let appliedAll = PGStatement<Applied>("migrate_applied_all", """
        SELECT version, name, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS applied_at, checksum
        FROM schema_migrations ORDER BY version
        """)
    static let appliedBeforeChecksums = PGStatement<Applied>("migrate_applied_unsummed", """
        SELECT version, name, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS applied_at, NULL::text AS checksum
        FROM schema_migrations ORDER BY version
        """)
    /// One row when `schema_migrations` exists, telling whether it has the checksum column yet.
    static let bookkeeping = PGStatement<Bookkeeping>("migrate_bookkeeping", """
        SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = c.oid AND attname = 'checksum' AND NOT attisdropped) AS has_checksum
        FROM (SELECT to_regclass('schema_migrations') AS oid) c WHERE c.oid IS NOT NULL
        """)
    static let adopt = PGStatement<PGNoRows, Int64, String>("migrate_adopt", """
        UPDATE schema_migrations SET checksum = $2 WHERE version = $1 AND checksum IS NULL
        """)
    static let record = PGStatement<PGNoRows, Int64, String, String>("migrate_record", """
        INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)
        """)
}
