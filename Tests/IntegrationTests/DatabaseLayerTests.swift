import MedsettleStore
import PGClient
import Testing

/// The libpq layer and the migrator against a real PostgreSQL.
@Suite(.timeLimit(.minutes(2)))
struct DatabaseLayerTests {
    @Test func typedRowsParametersAndArrays() throws {
        let connection = try PGConnection(conninfo: try TestDatabaseServer.shared.freshDatabase())
        let row = try connection.query("SELECT $1::bigint, $2::text, $3::boolean, $4::bytea, NULL::text, $5::bigint[]",
                                       [Int64(-9_007_199_254_740_993), "名 \"quoted\" \\ x", true,
                                        PGBytes([0, 1, 0xFE, 0xFF]), PGArray([1, 2, 3])])
        #expect(try row.requireInt64(0, 0) == -9_007_199_254_740_993)
        #expect(try row.requireString(0, 1) == "名 \"quoted\" \\ x")
        #expect(try row.requireBool(0, 2))
        #expect(try row.requireBytes(0, 3) == [0, 1, 0xFE, 0xFF])
        #expect(row.isNull(0, 4) && row.string(0, 4) == nil)
        #expect(try row.requireString(0, 5) == "{1,2,3}")
        let texts = try connection.query("SELECT unnest($1::text[])", [PGArray(["a,b", "\"q\"", "back\\slash", ""])])
        #expect(try (0..<texts.rowCount).map { try texts.requireString($0, 0) } == ["a,b", "\"q\"", "back\\slash", ""])
        let numbers: [Int64?] = [0, -1, 42, nil, Int64.max, Int64.min]
        let ints = try connection.query("SELECT x FROM unnest($1::bigint[]) WITH ORDINALITY AS u(x, i) ORDER BY i", [PGArray(numbers)])
        #expect(try (0..<ints.rowCount).map { try ints.int64($0, 0) } == numbers)
        let optionalTexts: [String?] = ["NULL", nil, "é,{}"]
        let mixed = try connection.query("SELECT x FROM unnest($1::text[]) WITH ORDINALITY AS u(x, i) ORDER BY i", [PGArray(optionalTexts)])
        #expect((0..<mixed.rowCount).map { mixed.string($0, 0) } == optionalTexts)
        let blobs = try connection.query("SELECT x FROM unnest($1::bytea[]) WITH ORDINALITY AS u(x, i) ORDER BY i",
                                         [PGArray([PGBytes([0, 0xAB]), PGBytes([])])])
        #expect(try (0..<blobs.rowCount).map { try blobs.requireBytes($0, 0) } == [[0, 0xAB], []])
    }

    @Test func errorsCarrySQLStateAndTransactionsRollBack() throws {
        let connection = try PGConnection(conninfo: try TestDatabaseServer.shared.freshDatabase())
        try connection.execute("CREATE TABLE t (k int PRIMARY KEY, v int CHECK (v >= 0))")
        let insert = PGSQL("t_insert", "INSERT INTO t VALUES ($1, $2)")
        try connection.query(insert, [1, 10])
        do {
            try connection.query(insert, [1, 20])
            Issue.record("a duplicate key was accepted")
        } catch let error as PGError {
            #expect(error.isUniqueViolation && error.sqlState == "23505" && error.constraint == "t_pkey")
        }
        do {
            try connection.withTransaction { transaction in
                try transaction.execute("INSERT INTO t VALUES (2, 5)")
                try transaction.execute("UPDATE t SET v = v - 100 WHERE k = 2")
                try transaction.commit()
            }
            Issue.record("a CHECK violation was accepted")
        } catch let error as PGError {
            #expect(error.isCheckViolation)
        }
        #expect(!connection.inTransaction)
        #expect(try connection.query("SELECT count(*) FROM t").requireInt64(0, 0) == 1)
    }

    @Test func pipelineRunsInOrderAndStopsAtTheFirstError() throws {
        let connection = try PGConnection(conninfo: try TestDatabaseServer.shared.freshDatabase())
        try connection.execute("CREATE TABLE p (k int PRIMARY KEY)")
        let insert = PGSQL("p_insert", "INSERT INTO p VALUES ($1)")
        let count = PGSQL("p_count", "SELECT count(*) FROM p")
        let results = try connection.pipeline([.text("BEGIN"), .prepared(insert, [1]), .prepared(insert, [2]),
                                               .prepared(count, []), .text("COMMIT")])
        let inserted = try results[3].requireInt64(0, 0)
        #expect(results.count == 5 && inserted == 2)
        do {
            _ = try connection.pipeline([.text("BEGIN"), .prepared(insert, [3]), .prepared(insert, [1]),
                                         .prepared(insert, [4]), .text("COMMIT")])
            Issue.record("a duplicate key was accepted")
        } catch let error as PGError {
            #expect(error.isUniqueViolation)
        }
        connection.rollbackQuietly()
        #expect(try connection.query(count).requireInt64(0, 0) == 2)
        // The connection is usable in the ordinary mode afterwards.
        #expect(try connection.query("SELECT 41 + 1").requireInt64(0, 0) == 42)
    }

    @Test func badConninfoIsAConnectionError() {
        #expect(throws: PGError.self) { try PGConnection(conninfo: "host=/nonexistent-dir port=1 connect_timeout=1") }
    }

    @Test func migrationsAreRecordedAndSafeToRerun() throws {
        let conninfo = try TestDatabaseServer.shared.freshDatabase()
        let connection = try PGConnection(conninfo: conninfo)
        #expect(try Migrator.migrate(connection).isEmpty)
        let applied = try connection.query("SELECT count(*) FROM schema_migrations").requireInt64(0, 0)
        #expect(applied >= 1)
        try DatabaseSetup.prepare(conninfo: conninfo, secrets: TestDatabaseServer.shared.secrets,
                                  loadReferenceData: true, demoPeople: true)
        #expect(try connection.query("SELECT count(*) FROM person").requireInt64(0, 0) == 3)
        #expect(try connection.query("SELECT count(*) FROM terminal").requireInt64(0, 0) == 12)
    }

    /// Terminal keys are stored sealed: no column holds the fixture key's bytes.
    @Test func terminalKeysAreSealedAtRest() throws {
        let connection = try PGConnection(conninfo: try TestDatabaseServer.shared.freshDatabase())
        let row = try connection.query("SELECT key_sealed FROM terminal WHERE id = 'P001-01'")
        let sealed = try row.requireBytes(0, 0)
        let key = Terminals.key("P001-01")
        #expect(sealed.count == 12 + 32 + 16)
        #expect(!sealed.indices.contains { i in i + 8 <= sealed.count && Array(sealed[i..<i + 8]) == Array(key[0..<8]) })
    }
}

/// Reference rows that settlements name cannot go away (migrations 0005 and 0006): terminals
/// stay, and catalog and policy versions never change.
@Suite struct ReferenceGuardTests {
    @Test func versionsAndTerminalsStay() throws {
        let connection = try PGConnection(conninfo: try TestDatabaseServer.shared.freshDatabase())
        for statement in ["DELETE FROM catalog_entry WHERE code = 'A001'", "UPDATE catalog_entry SET price_limit = 1 WHERE code = 'A001'",
                          "UPDATE catalog_version SET effective = DATE '2030-01-01'", "DELETE FROM policy_entry",
                          "UPDATE benefit_entry SET illness_ratio_bp = 0", "TRUNCATE policy_version CASCADE",
                          "DELETE FROM terminal WHERE id = 'P001-01'", "UPDATE terminal SET id = 'P001-99' WHERE id = 'P001-01'"] {
            #expect(throws: PGError.self) { try connection.execute(statement) }
        }
        try connection.execute("UPDATE terminal SET enabled = false WHERE id = 'P001-01'")
    }
}
