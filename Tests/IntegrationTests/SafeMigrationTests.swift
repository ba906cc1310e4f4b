import Foundation
import MedsettleSQL
import MedsettleStore
import PGClient
import Testing

/// `medsettle migrate` on a live database: the schema only, a bounded lock wait, checksums of
/// applied files, `--status`.
@Suite struct SafeMigrationTests {
    /// A new database with nothing in it; returns its conninfo.
    static func emptyDatabase() throws -> String {
        let any = try TestDatabaseServer.shared.freshDatabase()
        let name = "medsettle_empty_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        try PGConnection(conninfo: any).execute("CREATE DATABASE \(name)")
        return TestDatabaseServer.conninfo(any, database: name)
    }

    static func migration(_ version: Int, _ name: String, _ sql: String) -> SQLResources.Migration {
        SQLResources.Migration(version: version, name: String(repeating: "0", count: 4 - String(version).count) + "\(version)_\(name).sql", sql: sql)
    }

    @Test func migrationsRecordTheirChecksumsAndStatusListsThem() throws {
        let connection = try PGConnection(conninfo: try Self.emptyDatabase())
        let shipped = try SQLResources.migrations()
        let before = try Migrator.status(connection)
        #expect(before.map(\.name) == shipped.map(\.name))
        #expect(before.allSatisfy { $0.state == .pending && $0.appliedAt == nil })

        #expect(try Migrator.migrate(connection) == shipped.map(\.name))
        let after = try Migrator.status(connection)
        #expect(after.allSatisfy { $0.state == .applied && $0.appliedAt?.hasSuffix("Z") == true }, "\(after)")
        for migration in shipped {
            let recorded = try connection.query("SELECT checksum FROM schema_migrations WHERE version = $1", [Int64(migration.version)])
            #expect(recorded.string(0, 0) == Migrator.checksum(migration))
            #expect(Migrator.checksum(migration).count == 64)
        }
        #expect(try Migrator.migrate(connection).isEmpty)
    }

    /// Rows applied before `schema_migrations` had its checksum column take the files' checksums
    /// at the next run, once; until then `--status` calls them applied.
    @Test func rowsAppliedBeforeChecksumsAdoptTheFiles() throws {
        let connection = try PGConnection(conninfo: try Self.emptyDatabase())
        try Migrator.migrate(connection)
        try connection.execute("ALTER TABLE schema_migrations DROP COLUMN checksum")
        #expect(try Migrator.status(connection).allSatisfy { $0.state == .applied })
        #expect(try Migrator.migrate(connection).isEmpty)
        #expect(try connection.query("SELECT count(*) FROM schema_migrations WHERE checksum IS NULL").int64(0, 0) == 0)
        #expect(try Migrator.status(connection).allSatisfy { $0.state == .applied })
    }

    /// An applied migration edited afterwards stops the run before anything is applied, naming it.
    @Test func anEditedAppliedMigrationRefusesTheWholeRun() throws {
        let connection = try PGConnection(conninfo: try Self.emptyDatabase())
        let first = Self.migration(1, "first", "CREATE TABLE first_table (x int)")
        try Migrator.migrate(connection, migrations: [first])
        let edited = Self.migration(1, "first", "CREATE TABLE first_table (x bigint)")
        let second = Self.migration(2, "second", "CREATE TABLE second_table (y int)")
        #expect(throws: MigrationFailure.changed(["0001_first.sql"])) {
            try Migrator.migrate(connection, migrations: [edited, second])
        }
        #expect(try connection.query("SELECT to_regclass('second_table') IS NULL").bool(0, 0) == true)
        #expect(try Migrator.status(connection, migrations: [edited, second]).map(\.state) == [.changed, .pending])
        #expect(try Migrator.status(connection, migrations: [second]).map(\.state) == [.unknown, .pending])
        #expect(String(describing: MigrationFailure.changed(["0001_first.sql"])).contains("0001_first.sql was changed after being applied"))
    }

    /// A migration that waits longer than its lock timeout gives up, and nothing of it stays:
    /// neither its first statement nor its record. Once the lock is free it applies as it is.
    @Test func aMigrationWaitingForALockGivesUpAndAppliesNothing() throws {
        let conninfo = try Self.emptyDatabase()
        let connection = try PGConnection(conninfo: conninfo)
        let table = Self.migration(1, "table", "CREATE TABLE busy_table (x int)")
        let other = Self.migration(2, "other", "CREATE TABLE other_table (y int)")
        try Migrator.migrate(connection, migrations: [table])
        // A session reading the table in an open transaction: ALTER TABLE needs it to end.
        let reader = try PGConnection(conninfo: conninfo)
        try reader.execute("BEGIN; SELECT * FROM busy_table")
        let alter = Self.migration(3, "alter", "CREATE TABLE new_table (z int); ALTER TABLE busy_table ADD COLUMN y int")
        #expect(throws: MigrationFailure.lockTimeout(waitedMilliseconds: 200, migration: "0003_alter.sql", appliedBefore: ["0002_other.sql"])) {
            try Migrator.migrate(connection, lockTimeoutMilliseconds: 200, migrations: [table, other, alter])
        }
        #expect(try connection.query("SELECT to_regclass('new_table') IS NULL").bool(0, 0) == true)
        #expect(try connection.query("SELECT count(*) FROM schema_migrations WHERE version = 3").int64(0, 0) == 0)
        #expect(try Migrator.status(connection, migrations: [table, other, alter]).map(\.state) == [.applied, .applied, .pending])
        let message = String(describing: MigrationFailure.lockTimeout(waitedMilliseconds: 3000, migration: "0003_alter.sql", appliedBefore: []))
        #expect(message.contains("0003_alter.sql waited 3 s for a lock") && message.contains("nothing of 0003_alter.sql was applied"))

        try reader.execute("ROLLBACK")
        #expect(try Migrator.migrate(connection, lockTimeoutMilliseconds: 200, migrations: [table, other, alter]) == ["0003_alter.sql"])
    }

    /// The command: the schema only (no institution, no terminal), `--status` lines, an edited
    /// migration's refusal and a lock wait's, each with a non-zero exit; `--reference-data` is gone.
    @Test func migrateCommand() throws {
        let conninfo = try Self.emptyDatabase()
        let environment = ["DATABASE_URL": conninfo, "PATH": "/usr/bin:/bin"]
        let pending = try ServeProcessTests.run(["migrate", "--status"], environment: environment)
        #expect(pending.status == 0 && pending.output.hasPrefix("migration=0001_core.sql state=pending\n"), "\(pending)")

        let migrate = try ServeProcessTests.run(["migrate"], environment: environment)
        #expect(migrate.status == 0 && migrate.output.hasPrefix("applied: 0001_core.sql, "), "\(migrate)")
        let database = try PGConnection(conninfo: conninfo)
        #expect(try database.query("SELECT (SELECT count(*) FROM terminal) + (SELECT count(*) FROM institution)").int64(0, 0) == 0)
        #expect(try ServeProcessTests.run(["migrate"], environment: environment).output == "schema is up to date\n")

        let status = try ServeProcessTests.run(["migrate", "--status"], environment: environment)
        let lines = status.output.split(separator: "\n")
        #expect(status.status == 0 && !lines.isEmpty)
        #expect(lines.allSatisfy { $0.contains(" state=applied applied_at=") }, "\(status.output)")

        try database.execute("UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 1")
        let changed = try ServeProcessTests.run(["migrate"], environment: environment)
        #expect(changed.status != 0 && changed.error.contains("0001_core.sql was changed after being applied"), "\(changed)")
        let listed = try ServeProcessTests.run(["migrate", "--status"], environment: environment)
        #expect(listed.status == 0 && listed.output.contains("migration=0001_core.sql state=changed applied_at="), "\(listed)")
        try database.execute("UPDATE schema_migrations SET checksum = NULL WHERE version = 1")

        let holder = try PGConnection(conninfo: conninfo)
        try holder.execute("BEGIN; LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")
        let waited = try ServeProcessTests.run(["migrate", "--migration-lock-timeout", "1"], environment: environment)
        #expect(waited.status != 0 && waited.error.contains("waited 1 s for a lock"), "\(waited)")
        try holder.execute("ROLLBACK")

        let old = try ServeProcessTests.run(["migrate", "--reference-data"], environment: environment)
        #expect(old.status != 0)
    }
}
