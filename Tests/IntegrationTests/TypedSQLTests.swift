import PGClient
import Testing

/// Typed statements, rows read by name, and transactions that their commit consumes.
@Suite(.timeLimit(.minutes(2)))
struct TypedSQLTests {
    enum Colour: String, CaseIterable { case red, green }

    struct Thing: PGRowDecodable, Equatable {
        let id: Int64
        let label: String
        let colour: Colour
        let shade: Colour?
        let note: String?
        let blob: [UInt8]
        let flag: Bool

        init(id: Int64, label: String, colour: Colour, shade: Colour?, note: String?, blob: [UInt8], flag: Bool) {
            (self.id, self.label, self.colour, self.shade, self.note, self.blob, self.flag) = (id, label, colour, shade, note, blob, flag)
        }

        init(_ row: inout PGRow) {
            id = row("id")
            label = row("label")
            colour = row("colour")
            shade = row("shade")
            note = row("note")
            blob = row("blob")
            flag = row("flag")
        }
    }

    struct Count: PGRowDecodable {
        let n: Int64
        init(_ row: inout PGRow) { n = row("n") }
    }

    static let insert = PGStatement<PGNoRows, Int64, String, String, String?, String?, PGBytes, Bool>("thing_insert", """
        INSERT INTO thing (id, label, colour, shade, note, blob, flag) VALUES ($1, $2, $3, $4, $5, $6, $7)
        """)
    // Columns in another order than the row type reads them: rows are read by name.
    static let select = PGStatement<Thing, PGArray<Int64>>("thing_select", """
        SELECT flag, blob, note, shade, colour, label, id FROM thing WHERE id = ANY($1) ORDER BY id
        """)
    static let count = PGStatement<Count>("thing_count", "SELECT count(*) AS n FROM thing")

    @Test func rowsAreReadByNameWithTheirTypes() throws {
        let connection = try PGConnection(conninfo: try TestDatabaseServer.shared.freshDatabase())
        try connection.execute("""
            CREATE TABLE thing (id bigint PRIMARY KEY, label text NOT NULL, colour text NOT NULL, shade text,
                                note varchar(20), blob bytea NOT NULL, flag boolean NOT NULL)
            """)
        let things = [Thing(id: 1, label: "名 \"q\" \\", colour: .red, shade: nil, note: nil, blob: [0, 0xFF], flag: true),
                      Thing(id: -2, label: "", colour: .green, shade: .red, note: "n,{}", blob: [], flag: false)]
        for thing in things {
            _ = try connection.query(Self.insert(thing.id, thing.label, thing.colour.rawValue, thing.shade?.rawValue,
                                                 thing.note, PGBytes(thing.blob), thing.flag))
        }
        let (read, counted) = try connection.pipeline(Self.select(PGArray([1, -2, 3])), Self.count())
        #expect(read == things.sorted { $0.id < $1.id })
        #expect(counted.map(\.n) == [2])
    }

    /// `noRows` answers nothing and is not sent; the statements around it keep their results.
    @Test func aStatementKnownToFindNothingIsNotSent() throws {
        let connection = try PGConnection(conninfo: try TestDatabaseServer.shared.freshDatabase())
        try connection.execute("CREATE TABLE thing (id bigint PRIMARY KEY, label text NOT NULL, colour text NOT NULL, shade text, note varchar(20), blob bytea NOT NULL, flag boolean NOT NULL)")
        _ = try connection.query(Self.insert(1, "x", "red", nil, nil, PGBytes([]), false))
        let (skipped, counted, read) = try connection.pipeline(PGBound<Thing>.noRows, Self.count(), Self.select(PGArray([1])))
        #expect(skipped.isEmpty)
        #expect(counted.map(\.n) == [1])
        #expect(read.map(\.id) == [1])
        #expect(try connection.query(PGBound<Count>.noRows).isEmpty)
        let (alone,) = try connection.pipeline(PGBound<Count>.noRows)
        #expect(alone.isEmpty)
        // In a transaction, before and with its commit.
        let committed = try connection.withTransaction { transaction in
            let (nothing,) = try transaction.pipeline(PGBound<Count>.noRows)
            #expect(nothing.isEmpty)
            let (_, none, counted) = try transaction.commit(with: Self.insert(2, "y", "green", nil, nil, PGBytes([]), true),
                                                           PGBound<Thing>.noRows, Self.count())
            #expect(none.isEmpty)
            return counted
        }
        #expect(committed.map(\.n) == [2])
        #expect(!connection.inTransaction)
    }

    @Test func aTransactionIsCommittedOnlyByItsCommit() throws {
        let connection = try PGConnection(conninfo: try TestDatabaseServer.shared.freshDatabase())
        try connection.execute("CREATE TABLE thing (id bigint PRIMARY KEY, label text NOT NULL, colour text NOT NULL, shade text, note varchar(20), blob bytea NOT NULL, flag boolean NOT NULL)")
        func insert(_ id: Int64) -> PGBound<PGNoRows> { Self.insert(id, "x", "red", nil, nil, PGBytes([]), false) }
        // Left without a commit: rolled back.
        try connection.withTransaction { transaction in
            _ = try transaction.query(insert(1))
        }
        #expect(!connection.inTransaction)
        #expect(try connection.query(Self.count()).map(\.n) == [0])
        // A thrown error rolls back too.
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try connection.withTransaction { transaction in
                _ = try transaction.query(insert(2))
                throw Refused()
            }
        }
        // Committed with its last write in the same round trip, and the rows it returns.
        let counted = try connection.withTransaction { transaction in
            _ = try transaction.query(insert(3))
            let (_, counted) = try transaction.commit(with: insert(4), Self.count())
            return counted
        }
        #expect(counted.map(\.n) == [2])
        #expect(try connection.query(Self.count()).map(\.n) == [2])
        // A transaction that sent nothing commits without a round trip.
        try connection.withTransaction { transaction in try transaction.commit() }
        #expect(!connection.inTransaction)
    }

    /// A row type that does not match its statement stops the process when the statement is
    /// prepared, naming what is wrong; it is never a decoding error at run time.
    @Test func aRowTypeThatDoesNotMatchItsStatementStopsTheProcess() async throws {
        let conninfo = try TestDatabaseServer.shared.freshDatabase()
        await #expect(processExitsWith: .failure) { [conninfo = conninfo as String] in
            struct Wrong: PGRowDecodable {
                let n: String
                init(_ row: inout PGRow) { n = row("n") } // count(*) is a bigint, not text
            }
            let connection = try PGConnection(conninfo: conninfo)
            _ = try connection.query(PGStatement<Wrong>("wrong", "SELECT count(*) AS n FROM pg_class")())
        }
        await #expect(processExitsWith: .failure) { [conninfo = conninfo as String] in
            let connection = try PGConnection(conninfo: conninfo)
            // The SQL takes two parameters; the type binds one.
            _ = try connection.query(PGStatement<PGNoRows, Int64>("arity", "SELECT $1::bigint + $2::bigint")(1))
        }
    }
}
