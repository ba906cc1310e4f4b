/// An open transaction on one connection, as a value that its commit consumes: once committed,
/// nothing more can be sent in it, because there is nothing left to send it with.
///
/// BEGIN is not sent on its own: it travels with the transaction's first query, and
/// `commit(with:)` sends the last writes and COMMIT together, so a short transaction costs as
/// few round trips as its reads and writes need. A transaction that goes out of scope without
/// being committed (an early return, a thrown error) is rolled back.
///
/// A connection lost while COMMIT is on its way throws a `PGError` whose `commitOutcomeUnknown`
/// is set: the outcome is then unknown, and the caller must not report it as not done.
public struct PGTransaction: ~Copyable {
    private let connection: PGConnection

    init(_ connection: PGConnection) {
        self.connection = connection
        connection.begin()
    }

    deinit {
        connection.rollbackQuietly()
    }

    /// Runs one typed statement in the transaction.
    public func query<Row>(_ bound: PGBound<Row>) throws -> [Row] {
        try connection.query(bound)
    }

    /// Runs typed statements in the transaction in one round trip, each result read as its rows.
    public func pipeline<each Row>(_ bound: repeat PGBound<each Row>) throws -> (repeat [each Row]) {
        try connection.pipeline(repeat each bound)
    }

    /// Runs SQL without parameters or results in the transaction (migrations' DDL).
    public func execute(_ sql: String) throws {
        try connection.execute(sql)
    }

    /// Streams rows into `COPY … FROM STDIN` in the transaction (see `PGConnection.copyIn`).
    @discardableResult
    public func copyIn(_ copySQL: String, rows: some Sequence<String>) throws -> Int {
        try connection.copyIn(copySQL, rows: rows)
    }

    /// Commits what was sent (nothing to do when nothing was).
    public consuming func commit() throws {
        try connection.commitPending()
    }

    /// Sends the statements and COMMIT in one round trip, and reads their rows.
    public consuming func commit<each Row>(with bound: repeat PGBound<each Row>) throws -> (repeat [each Row]) {
        try connection.commit(with: repeat each bound)
    }
}

extension PGConnection {
    /// Runs `body` with a new transaction on this connection; see `PGTransaction`.
    public func withTransaction<T>(_ body: (consuming PGTransaction) throws -> T) throws -> T {
        try body(PGTransaction(self))
    }
}

extension PGPool {
    /// Lends a connection and runs `body` with a new transaction on it; see `PGTransaction`.
    public func withTransaction<T>(_ body: (consuming PGTransaction) throws -> T) throws -> T {
        try withConnection { try $0.withTransaction(body) }
    }
}
