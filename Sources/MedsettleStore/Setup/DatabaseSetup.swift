import PGClient

/// Bringing a database to the engine's schema and, optionally, its demo data set.
public enum DatabaseSetup {
    /// Creates `name` on the server that `adminConninfo` reaches, unless it exists.
    public static func createDatabaseIfMissing(adminConninfo: String, name: String) throws {
        precondition(name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F },
                     "database names here are [a-z0-9_]")
        let admin = try PGConnection(conninfo: adminConninfo)
        let exists = try admin.query(PGStatement<PGCount, String>("database_exists", """
            SELECT count(*) AS count FROM pg_database WHERE datname = $1
            """)(name))
        if exists.first?.count == 0 { try admin.execute("CREATE DATABASE \(name)") }
    }

    /// Applies the migrations, then loads the demo data set's reference data (institutions,
    /// terminals with their published keys, catalog, policy) and, when `demoPeople`, the demo
    /// people: for `demo`, `seed` and the tests, never for a production database (`medsettle
    /// migrate` makes the schema alone).
    @discardableResult
    public static func prepare(conninfo: String, secrets: ServerSecrets, loadReferenceData: Bool, demoPeople: Bool) throws -> [String] {
        let connection = try PGConnection(conninfo: conninfo)
        let applied = try Migrator.migrate(connection)
        if loadReferenceData { try Seeder.loadReferenceData(connection, secrets: secrets) }
        if demoPeople { try Seeder.loadDemoPeople(connection, secrets: secrets) }
        return applied
    }
}
