import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection.
///
/// `PGconn` is not thread-safe, so this class is `@unchecked Sendable` on one condition, kept by
/// `PGPool`: a connection is used by one thread at a time (the pool hands it to exactly one borrower).
/// Every call blocks; never call it from an event loop thread.
public final class PGConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var preparedNames: Set<String> = []
    /// How each typed statement's rows are read, found when it was prepared (see `PGRowPlan`).
    private var plans: [String: PGRowPlan] = [:]
    /// Inside `transaction`: BEGIN not sent yet; it travels with the first query (one round trip less).
    private var beginPending = false

    /// Defaults for what a connection string leaves out, so that a database that is down or
    /// unreachable is noticed in seconds rather than at TCP's own timeouts: a bounded connect, and
    /// keepalives with a user timeout that end a connection whose peer has gone silent.
    public static let connectionDefaults: KeyValuePairs<String, String> = [
        "connect_timeout": "3",
        "keepalives": "1",
        "keepalives_idle": "10",
        "keepalives_interval": "3",
        "keepalives_count": "3",
        "tcp_user_timeout": "10000",
        "application_name": "medsettle",
    ]

    /// Connects with a libpq connection string: a URL (`postgresql://...`) or `key=value` pairs,
    /// possibly naming several hosts (`host=a,b target_session_attrs=read-write`). Settings the
    /// string gives win over `connectionDefaults`.
    ///
    /// - Parameter settings: server settings for the whole session (`statement_timeout`, …), set
    ///   in one round trip right after connecting. Set with `set_config` rather than libpq's
    ///   `options` so that an `options` in the connection string cannot silently replace them.
    public init(conninfo: String, settings: [(name: String, value: String)] = []) throws {
        // With expand_dbname, values expanded from `dbname` override the keywords before it.
        // Both arrays end with NULL, as libpq wants.
        let keywords: [String?] = Self.connectionDefaults.map(\.key) + ["dbname", nil]
        let values: [String?] = Self.connectionDefaults.map(\.value) + [conninfo, nil]
        let connection = withCStrings(keywords) { keys in
            withCStrings(values) { vals in PQconnectdbParams(keys, vals, 1) }
        }
        guard let conn = connection else {
            throw PGError(kind: .connection, message: "out of memory creating a connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.connectionMessage(conn)
            PQfinish(conn)
            throw PGError(kind: .connection, message: message)
        }
        // Server notices ("relation already exists, skipping") are not errors; keep them off stderr.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        handle = conn
        if !settings.isEmpty {
            let calls = settings.indices.map { "set_config($\($0 * 2 + 1), $\($0 * 2 + 2), false)" }
            try query("SELECT " + calls.joined(separator: ", "), settings.flatMap { [$0.name, $0.value] as [(any PGBindable)?] })
        }
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// False once the connection has been lost; the pool then replaces it.
    public var isHealthy: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// True while a transaction block is open (or failed and not yet rolled back).
    public var inTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Runs one or more statements without parameters (simple query protocol); results are discarded.
    public func execute(_ sql: String) throws {
        let conn = try liveHandle()
        try sendPendingBegin(conn)
        let result = PQexec(conn, sql)
        _ = try check(result, conn)
    }

    /// Runs one statement with parameters (extended protocol, unnamed statement).
    @discardableResult
    public func query(_ sql: String, _ params: [(any PGBindable)?] = []) throws -> PGResult {
        let conn = try liveHandle()
        try sendPendingBegin(conn)
        let result = withCStrings(params.map { $0?.pgParameter }) { values in
            PQexecParams(conn, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        return try check(result, conn)
    }

    /// Runs a named statement, preparing it on this connection the first time.
    @discardableResult
    public func query(_ statement: PGSQL, _ params: [(any PGBindable)?] = []) throws -> PGResult {
        try pipeline([.prepared(statement, params)])[0]
    }

    /// Runs one typed statement (outside a transaction: on its own, in autocommit).
    public func query<Row>(_ bound: PGBound<Row>) throws -> [Row] {
        guard let query = bound.query else { return [] }
        let result = try pipeline([query])[0]
        return rows(of: result, bound)
    }

    /// Runs typed statements in one round trip (see `pipeline(_:)`), each result read as its rows.
    public func pipeline<each Row>(_ bound: repeat PGBound<each Row>) throws -> (repeat [each Row]) {
        try run(repeat each bound, committing: false)
    }

    /// Sends typed statements and COMMIT in one round trip (see `PGTransaction.commit(with:)`).
    func commit<each Row>(with bound: repeat PGBound<each Row>) throws -> (repeat [each Row]) {
        try run(repeat each bound, committing: true)
    }

    private func run<each Row>(_ bound: repeat PGBound<each Row>, committing: Bool) throws -> (repeat [each Row]) {
        // `noRows` statements are not sent; the others' results come back in their order.
        var queries: [PGQuery] = []
        for bound in repeat each bound {
            if let query = bound.query { queries.append(query) }
        }
        let results: [PGResult]
        if committing {
            results = try commit(with: queries)
        } else {
            results = queries.isEmpty ? [] : try pipeline(queries)
        }
        var index = 0
        func next<R>(_ bound: PGBound<R>) -> [R] {
            guard bound.query != nil else { return [] }
            defer { index += 1 }
            return rows(of: results[index], bound)
        }
        return (repeat next(each bound))
    }

    private func rows<Row>(of result: PGResult, _ bound: PGBound<Row>) -> [Row] {
        guard case .typed(let sql, _, _) = bound.query, let plan = plans[sql.name] else {
            preconditionFailure("a typed statement ran without being prepared and checked")
        }
        return plan.decode(result, as: Row.self)
    }

    /// Sends every query at once in libpq pipeline mode and reads all results: one round trip for
    /// the batch. The server runs them in order, each seeing what the previous ones did (and the
    /// lock a previous one waited for). If one fails the rest are skipped by the server, and the
    /// first error is thrown (an open transaction is then in the failed state).
    @discardableResult
    public func pipeline(_ queries: [PGQuery]) throws -> [PGResult] {
        precondition(!queries.isEmpty, "a pipeline has at least one query")
        if beginPending {
            beginPending = false
            return Array(try pipeline([.text("BEGIN")] + queries).dropFirst())
        }
        let conn = try liveHandle()
        for query in queries {
            switch query {
            case .prepared(let statement, _): try prepareIfNeeded(statement, conn)
            case .typed(let statement, _, let check): try prepareIfNeeded(statement, conn, check: check)
            case .text: break
            }
        }
        guard PQenterPipelineMode(conn) == 1 else {
            throw PGError(kind: .connection, message: "cannot enter pipeline mode: " + Self.connectionMessage(conn))
        }
        defer { PQexitPipelineMode(conn) }
        for query in queries {
            let sent: Int32
            switch query {
            case .prepared(let statement, let params):
                sent = withCStrings(params.map { $0?.pgParameter }) { values in
                    PQsendQueryPrepared(conn, statement.name, Int32(values.count), values, nil, nil, 0)
                }
            case .typed(let statement, let params, _):
                sent = withCStrings(params) { values in
                    PQsendQueryPrepared(conn, statement.name, Int32(values.count), values, nil, nil, 0)
                }
            case .text(let sql):
                sent = PQsendQueryParams(conn, sql, 0, nil, nil, nil, nil, 0)
            }
            guard sent == 1 else { throw PGError(kind: .connection, message: Self.connectionMessage(conn)) }
        }
        guard PQpipelineSync(conn) == 1 else { throw PGError(kind: .connection, message: Self.connectionMessage(conn)) }

        var results: [PGResult?] = Array(repeating: nil, count: queries.count)
        var firstError: PGError?
        var index = 0
        // Each query's results end with a NULL; the batch ends with the sync result.
        while true {
            guard let result = PQgetResult(conn) else {
                index += 1
                if index > queries.count {
                    throw PGError(kind: .connection, message: "pipeline ended early: " + Self.connectionMessage(conn))
                }
                continue
            }
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC { PQclear(result); break }
            if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY, index < queries.count {
                results[index] = PGResult(handle: result)
            } else {
                if firstError == nil, status != PGRES_PIPELINE_ABORTED { firstError = Self.error(from: result, conn) }
                PQclear(result)
            }
        }
        if let firstError { throw firstError }
        return try results.map { result in
            guard let result else { throw PGError(kind: .connection, message: "a pipelined query returned nothing") }
            return result
        }
    }

    /// Streams rows into `COPY … FROM STDIN` (text format): each element of `rows` is one line
    /// without its newline, columns separated by tabs, `\N` for NULL. Returns the rows copied.
    @discardableResult
    public func copyIn(_ copySQL: String, rows: some Sequence<String>) throws -> Int {
        let conn = try liveHandle()
        guard let start = PQexec(conn, copySQL) else {
            throw PGError(kind: .connection, message: Self.connectionMessage(conn))
        }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            let error = Self.error(from: start, conn)
            PQclear(start)
            throw error
        }
        PQclear(start)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        var count = 0
        func flush() throws {
            let sent = buffer.withUnsafeBufferPointer { pointer in
                pointer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: pointer.count) {
                    PQputCopyData(conn, $0, Int32(pointer.count))
                }
            }
            guard sent == 1 else { throw PGError(kind: .connection, message: Self.connectionMessage(conn)) }
            buffer.removeAll(keepingCapacity: true)
        }
        for row in rows {
            buffer.append(contentsOf: row.utf8)
            buffer.append(UInt8(ascii: "\n"))
            count += 1
            if buffer.count >= 1 << 20 { try flush() }
        }
        if !buffer.isEmpty { try flush() }
        guard PQputCopyEnd(conn, nil) == 1 else { throw PGError(kind: .connection, message: Self.connectionMessage(conn)) }
        var failure: PGError?
        while let result = PQgetResult(conn) {
            if PQresultStatus(result) != PGRES_COMMAND_OK, failure == nil { failure = Self.error(from: result, conn) }
            PQclear(result)
        }
        if let failure { throw failure }
        return count
    }

    /// Opens a transaction whose BEGIN goes out with its first query (`PGTransaction`).
    func begin() {
        precondition(!beginPending && !inTransaction, "transactions do not nest")
        beginPending = true
    }

    /// Commits the open transaction; nothing to do when nothing was sent in it.
    func commitPending() throws {
        if beginPending {
            beginPending = false
        } else {
            try Self.markingUnknownCommit { try execute("COMMIT") }
        }
    }

    /// Sends `queries` and COMMIT in one pipeline, ending the open transaction.
    private func commit(with queries: [PGQuery]) throws -> [PGResult] {
        let results = try Self.markingUnknownCommit { try pipeline(queries + [.text("COMMIT")]) }
        return Array(results.dropLast())
    }

    /// A connection failure while COMMIT is on its way leaves the outcome unknown: say so.
    private static func markingUnknownCommit<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as PGError where error.isConnectionFailure {
            error.commitOutcomeUnknown = true
            throw error
        }
    }

    /// Rolls back if a transaction is open; a failure here means the connection is gone anyway.
    public func rollbackQuietly() {
        beginPending = false
        guard let handle, inTransaction else { return }
        if let result = PQexec(handle, "ROLLBACK") { PQclear(result) }
    }

    // MARK: - internals

    /// Sends the BEGIN of a transaction that has sent nothing yet, before a query that cannot
    /// carry it in a pipeline (the simple and unnamed-statement protocols).
    private func sendPendingBegin(_ conn: OpaquePointer) throws {
        guard beginPending else { return }
        beginPending = false
        _ = try check(PQexec(conn, "BEGIN"), conn)
    }

    func liveHandle() throws -> OpaquePointer {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PGError(kind: .connection, message: "connection is closed")
        }
        return handle
    }

    /// Prepares the statement on first use; a typed one is then described and checked against
    /// its Swift types (one more round trip, once per statement and connection).
    private func prepareIfNeeded(_ statement: PGSQL, _ conn: OpaquePointer, check shapeCheck: PGShapeCheck? = nil) throws {
        if preparedNames.contains(statement.name) { return }
        let result = PQprepare(conn, statement.name, statement.sql, 0, nil)
        _ = try check(result, conn)
        if let shapeCheck {
            let description = try check(PQdescribePrepared(conn, statement.name), conn)
            plans[statement.name] = shapeCheck.run(description.shape)
        }
        preparedNames.insert(statement.name)
    }

    private func check(_ result: OpaquePointer?, _ conn: OpaquePointer) throws -> PGResult {
        guard let result else {
            throw PGError(kind: .connection, message: Self.connectionMessage(conn))
        }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY {
            return PGResult(handle: result)
        }
        let error = Self.error(from: result, conn)
        PQclear(result)
        throw error
    }

    static func error(from result: OpaquePointer, _ conn: OpaquePointer) -> PGError {
        func field(_ code: UInt8) -> String? {
            guard let text = PQresultErrorField(result, Int32(code)) else { return nil }
            return String(cString: text)
        }
        let sqlState = field(UInt8(ascii: "C"))
        let message = field(UInt8(ascii: "M")) ?? connectionMessage(conn)
        let constraint = field(UInt8(ascii: "n"))
        let lost = PQstatus(conn) != CONNECTION_OK
        return PGError(kind: lost || sqlState == nil ? .connection : .server,
                       sqlState: sqlState, message: message, constraint: constraint)
    }

    static func connectionMessage(_ conn: OpaquePointer) -> String {
        guard let text = PQerrorMessage(conn) else { return "unknown libpq error" }
        let message = String(cString: text)
        return message.split(separator: "\n").joined(separator: "; ")
    }
}

/// Calls `body` with C strings for the parameters (NULL for nil), freed afterwards.
func withCStrings<R>(_ params: [String?], _ body: ([UnsafePointer<CChar>?]) throws -> R) rethrows -> R {
    let owned: [UnsafeMutablePointer<CChar>?] = params.map { param in
        guard let param else { return nil }
        return strdup(param)
    }
    defer { for pointer in owned { free(pointer) } }
    return try body(owned.map { $0.map { UnsafePointer($0) } })
}
