import Foundation
import Logging
import MedsettleCore
@testable import MedsettleStore
import PGClient
import Testing

/// The limits every engine database connection sets (`db-statement-timeout`, `db-lock-timeout`,
/// `db-idle-in-transaction-timeout`): what they cancel answers `BUSY` or `UNAVAILABLE`, never
/// `INTERNAL`, and a connection PostgreSQL ended is replaced.
@Suite struct EngineTimeoutTests {
    static func timeouts(statement: Int = 0, lock: Int = 0, idleInTransaction: Int = 0) -> [(name: String, value: String)] {
        [("statement_timeout", "\(statement)"), ("lock_timeout", "\(lock)"),
         ("idle_in_transaction_session_timeout", "\(idleInTransaction)")]
    }

    static let backendPID = PGStatement<PGCount>("test_backend_pid", "SELECT pg_backend_pid()::bigint AS count")

    /// Each pool connection runs with the settings it was given.
    @Test func poolConnectionsCarryTheirTimeouts() throws {
        let pool = PGPool(conninfo: try TestDatabaseServer.shared.freshDatabase(), size: 1,
                          sessionSettings: Self.timeouts(statement: 10_000, lock: 5_000, idleInTransaction: 10_000))
        defer { pool.close() }
        let shown = try pool.withConnection { connection in
            try ["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"].map {
                try connection.query("SELECT current_setting($1)", [$0]).string(0, 0)
            }
        }
        #expect(shown == ["10s", "5s", "10s"])
    }

    /// A statement past `statement_timeout` is cancelled (57014), the connection stays usable,
    /// and the store answers BUSY.
    @Test func aSlowStatementIsCancelledAndAnswersBusy() throws {
        let pool = PGPool(conninfo: try TestDatabaseServer.shared.freshDatabase(), size: 1, sessionSettings: Self.timeouts(statement: 100))
        defer { pool.close() }
        let error = try #require(throws: PGError.self) { try pool.withConnection { try $0.execute("SELECT pg_sleep(60)") } }
        #expect(error.sqlState == "57014" && error.isTimeout && !error.isConnectionFailure)
        #expect(try pool.withConnection { try $0.query("SELECT 1").int64(0, 0) } == 1)
        let runner = TransactionRunner(pool: pool, logger: Logger(label: "test"))
        #expect(runner.refusal(for: error, operation: "TEST").code == .busy)
    }

    /// A SETTLE waiting for a person's row that another session holds: with `lock_timeout` it gives
    /// up (55P03), with only `statement_timeout` it is cancelled (57014); both answer BUSY, nothing
    /// is written, and the same request settles once the row is free.
    @Test(arguments: [(lock: 200, statement: 0, sqlState: "55P03"), (lock: 0, statement: 300, sqlState: "57014")])
    func aHeldRowLockAnswersBusy(_ limits: (lock: Int, statement: Int, sqlState: String)) async throws {
        let engine = try await TestEngine.start(sessionSettings: Self.timeouts(statement: limits.statement, lock: limits.lock))
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let holder = try PGConnection(conninfo: engine.conninfo)
        try holder.execute("BEGIN")
        _ = try holder.query("SELECT id FROM person WHERE id_no = $1 FOR UPDATE", [idNo])
        let settle = "SETTLE s trace=LT-1 card=\(card) pin=470291 items=A002*1@1200"
        let refused = try await engine.withTerminal("P001-01") { try await $0.request(settle) }
        #expect(refused.code == "BUSY", "\(refused)")
        try holder.execute("ROLLBACK")
        #expect(try engine.scalar("SELECT count(*) FROM settlement WHERE trace = 'LT-1'") == 0)
        let settled = try await engine.withTerminal("P001-01") { try await $0.request(settle) }
        #expect(settled.ok && settled.value("balance") == "8800", "\(settled)")
        await engine.stop()
    }

    /// A transaction left idle past `idle_in_transaction_session_timeout` loses its connection
    /// (25P03): its next statement fails as a lost connection (UNAVAILABLE), and the pool opens a
    /// new connection for the next borrower.
    @Test func aConnectionEndedForIdlingInATransactionIsReplaced() throws {
        let conninfo = try TestDatabaseServer.shared.freshDatabase()
        let pool = PGPool(conninfo: conninfo, size: 1, sessionSettings: Self.timeouts(idleInTransaction: 100))
        defer { pool.close() }
        let admin = try PGConnection(conninfo: conninfo)
        var ended: Int64 = 0
        let error = try #require(throws: PGError.self) {
            try pool.withTransaction { transaction in
                ended = try #require(try transaction.query(Self.backendPID()).first?.count)
                // Idle inside the transaction until PostgreSQL has ended the session.
                for _ in 0..<600 where try admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [ended]).int64(0, 0) != 0 {
                    usleep(50_000)
                }
                _ = try transaction.query(Self.backendPID())
            }
        }
        #expect(error.isConnectionFailure, "\(error)")
        let runner = TransactionRunner(pool: pool, logger: Logger(label: "test"))
        #expect(runner.refusal(for: error, operation: "TEST").code == .unavailable)
        let next = try pool.withConnection { try $0.query(Self.backendPID()).first?.count }
        #expect(next != nil && next != ended)
    }

    /// The idle-in-transaction error, as PostgreSQL names it, counts as a lost connection.
    @Test func idleInTransactionTimeoutIsALostConnection() {
        #expect(PGError(kind: .server, sqlState: "25P03", message: "terminating connection due to idle-in-transaction timeout").isConnectionFailure)
        #expect(PGError(kind: .server, sqlState: "55P03", message: "canceling statement due to lock timeout").isTimeout)
    }
}
