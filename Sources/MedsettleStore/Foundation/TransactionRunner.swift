import Logging
import PGClient

/// Runs the store's operations on pooled connections: each as one transaction (or one read),
/// retried when it lost a serialisation race or met a twin of its own trace (a concurrent one, or
/// a repeat that a settlement round's first attempt did not look up: the retry then finds the
/// twin's record), with failures of the database itself answered as the
/// protocol's `UNAVAILABLE` or `BUSY`.
///
/// A connection lost while COMMIT was on its way leaves the outcome unknown, and such an operation
/// is never answered as not done, nor done twice (`LostCommit`). The operation is never run again
/// blindly — that would present a card again and count a wrong PIN twice:
/// - a transaction that wrote nothing answers as decided (nothing could have changed);
/// - a success is resolved by what it would have written (its trace, its settlements), with one
///   look-up: found, the commit happened and the decided answer stands (without `repeat=1`: the
///   terminal sent the request once); not found, it did not, and the operation runs now, once;
/// - anything else — a refusal whose PIN count may or may not be stored, a success with nothing to
///   look up, a database still out of reach — answers `BUSY` with the advice to send the same
///   request again or QUERY it, at once rather than after waiting on a shared thread.
final class TransactionRunner: Sendable {
    let pool: PGPool
    let logger: Logger
    /// "database unavailable", at most a line a second during an outage.
    private let unavailableLog = LogThrottle()
    /// "database timeout", at most a line a second while the database is slow or a lock is held.
    private let timeoutLog = LogThrottle()

    init(pool: PGPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    /// Attempts at an operation that loses races (serialisation failures, a twin's trace).
    static let attempts = 4

    /// One read outside any transaction.
    func read<T>(_ operation: String, _ body: (PGConnection) throws -> Answer<T>) -> Answer<T> {
        do {
            return try pool.withConnection(body)
        } catch {
            return .failure(refusal(for: error, operation: operation))
        }
    }

    /// One transaction. `resolve` learns whether a lost commit happened from what the success it
    /// decided on would have written (its trace, its settlement ids): true, false, or nil when it
    /// cannot tell; without it a lost success answers `BUSY`.
    func transaction<T: Sendable>(_ operation: String, resolve: ((PGConnection, T) throws -> Bool?)? = nil,
                        _ body: (consuming PGTransaction) throws -> Answer<T>) -> Answer<T> {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try pool.withTransaction(body)
            } catch let error as PGError where attempt < Self.attempts && (error.isRetryable || error.isUniqueViolation) {
                logger.debug("retrying after a concurrent conflict", metadata: ["operation": "\(operation)", "sqlstate": "\(error.sqlState ?? "")"])
            } catch let lost as LostCommit<T> {
                logger.warning("connection lost at COMMIT; outcome unknown", metadata: ["operation": "\(operation)"])
                return resolveLostCommit(lost, operation, resolve: resolve, body)
            } catch {
                return .failure(refusal(for: error, operation: operation))
            }
        }
    }

    /// The answer to an operation whose commit was lost (see the type's comment).
    private func resolveLostCommit<T: Sendable>(_ lost: LostCommit<T>, _ operation: String,
                                                resolve: ((PGConnection, T) throws -> Bool?)?,
                                                _ body: (consuming PGTransaction) throws -> Answer<T>) -> Answer<T> {
        guard lost.wrote else { return lost.answer }
        guard case .success(let decided) = lost.answer, let resolve else { return .failure(.outcomeUnknown) }
        do {
            switch try pool.withConnection({ try resolve($0, decided) }) {
            case true?: return lost.answer
            case false?: break
            case nil: return .failure(.outcomeUnknown)
            }
            // Not visible yet is not quite "not done": the first attempt may still be finishing on
            // the server (waiting for a standby) and win the person's lock. It had decided a
            // success, so a refusal now may be about its own effect (ALREADY_CANCELLED): unknown.
            let again = try pool.withTransaction(body)
            if case .failure = again { return .failure(.outcomeUnknown) }
            return again
        } catch {
            logger.warning("the outcome of a lost commit is not known yet", metadata: ["operation": "\(operation)", "error": "\(error)"])
            return .failure(.outcomeUnknown)
        }
    }

    /// One transaction of a traced operation, whose lost commit is resolved by its trace.
    func transaction<T: Sendable>(_ operation: String, traced request: TracedRequest, by context: TerminalContext,
                                  _ body: (consuming PGTransaction) throws -> Answer<T>) -> Answer<T> {
        transaction(operation, resolve: { connection, _ in try connection.traceRecorded(request, by: context) }, body)
    }

    /// The refusal for an operation that failed: the database unreachable, slow or busy, or a bug.
    /// A connection ended by `idle_in_transaction_session_timeout` is a lost connection (the pool
    /// replaces it); a statement cancelled by `statement_timeout` or `lock_timeout` rolled its
    /// transaction back, so the terminal may simply send the request again: `BUSY`.
    func refusal(for error: any Error, operation: String) -> Refusal {
        if let error = error as? PGError, error.isConnectionFailure {
            unavailableLog.warning(logger, "database unavailable", metadata: ["operation": "\(operation)", "error": "\(error)"])
            return .databaseUnavailable
        }
        if let error = error as? PGError, error.isTimeout {
            timeoutLog.warning(logger, "database timeout", metadata: ["operation": "\(operation)", "error": "\(error)"])
            return error.isLockTimeout ? .lockTimeout : .statementTimeout
        }
        if error is PGPool.Exhausted { return .busy }
        logger.error("operation failed", metadata: ["operation": "\(operation)", "error": "\(error)"])
        return .internalError
    }
}

/// A commit whose connection was lost: it may or may not have happened. Carries the answer the
/// transaction had decided on, and whether it wrote anything.
struct LostCommit<T: Sendable>: Error {
    let answer: Answer<T>
    let wrote: Bool
}

extension PGTransaction {
    /// Commits with `writes`, answering `answer`; a lost commit throws `LostCommit(answer)`.
    /// A transaction whose only writes are `writes` says so with `alone`: when it has none, a lost
    /// commit changed nothing.
    consuming func commit<T: Sendable>(_ writes: WriteSet, alone: Bool = false, answering answer: Answer<T>) throws -> Answer<T> {
        if let query = writes.query { return try commit(with: query, answering: answer) }
        do {
            try commit()
            return answer
        } catch let error as PGError where error.commitOutcomeUnknown {
            throw LostCommit(answer: answer, wrote: !alone)
        }
    }

    /// Sends `last` and COMMIT in one round trip, answering `answer`; a lost commit throws
    /// `LostCommit(answer)`.
    consuming func commit<T: Sendable, Row>(with last: PGBound<Row>, answering answer: Answer<T>) throws -> Answer<T> {
        do {
            _ = try commit(with: last)
            return answer
        } catch let error as PGError where error.commitOutcomeUnknown {
            throw LostCommit(answer: answer, wrote: true)
        }
    }

    /// Commits what was sent, answering `answer`; a lost commit throws `LostCommit(answer)`.
    consuming func commit<T: Sendable>(answering answer: Answer<T>) throws -> Answer<T> {
        do {
            try commit()
            return answer
        } catch let error as PGError where error.commitOutcomeUnknown {
            throw LostCommit(answer: answer, wrote: true)
        }
    }
}
