import Foundation

/// Told how the pool is used, for metrics. Called outside the pool's lock, on borrowers' threads.
public protocol PGPoolObserver: Sendable {
    /// A borrower got a connection after waiting `nanoseconds` for it.
    func acquired(waitedNanoseconds: Int64)
    /// Connections lent out and open, after each change.
    func usage(inUse: Int, open: Int)
}

/// A fixed-size set of connections, each lent to one borrower at a time.
///
/// Connections are opened lazily and replaced when found broken. A borrower waits at most
/// `acquireTimeout` for a free connection and then gets `PGPool.Exhausted`, so waiting is bounded.
public final class PGPool: @unchecked Sendable {
    public struct Exhausted: Error, CustomStringConvertible {
        public var description: String { "no database connection became free in time" }
    }

    public let conninfo: String
    public let size: Int
    private let acquireTimeout: Double
    private let observer: (any PGPoolObserver)?
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var idle: [PGConnection] = []
    private var opened = 0
    private var closed = false

    /// - Parameter acquireTimeoutSeconds: the longest a borrower waits for a free connection.
    public init(conninfo: String, size: Int, acquireTimeoutSeconds: Double = 5, observer: (any PGPoolObserver)? = nil) {
        precondition(size > 0, "a pool has at least one connection")
        precondition(acquireTimeoutSeconds >= 0, "a wait is not negative")
        self.conninfo = conninfo
        self.size = size
        self.acquireTimeout = acquireTimeoutSeconds
        self.observer = observer
    }

    /// Lends a connection to `body` (on the calling thread) and takes it back afterwards.
    public func withConnection<T>(_ body: (PGConnection) throws -> T) throws -> T {
        let connection = try acquire()
        var healthy = true
        defer { release(connection, healthy: healthy) }
        do {
            let value = try body(connection)
            healthy = connection.isHealthy && !connection.inTransaction
            return value
        } catch {
            connection.rollbackQuietly()
            healthy = connection.isHealthy && !connection.inTransaction
            throw error
        }
    }

    /// Closes idle connections and refuses new borrowers; lent connections close when returned.
    public func close() {
        condition.lock()
        closed = true
        idle.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    private func acquire() throws -> PGConnection {
        let started = DispatchTime.now().uptimeNanoseconds
        let connection = try acquireWaiting()
        if let observer {
            observer.acquired(waitedNanoseconds: Int64(DispatchTime.now().uptimeNanoseconds - started))
            reportUsage(to: observer)
        }
        return connection
    }

    private func reportUsage(to observer: any PGPoolObserver) {
        condition.lock()
        let (open, idleCount) = (opened, idle.count)
        condition.unlock()
        observer.usage(inUse: open - idleCount, open: open)
    }

    private func acquireWaiting() throws -> PGConnection {
        let deadline = Date().addingTimeInterval(acquireTimeout)
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw PGError(kind: .connection, message: "pool is closed")
            }
            if let connection = idle.popLast() {
                condition.unlock()
                return connection
            }
            if opened < size {
                opened += 1
                condition.unlock()
                do {
                    return try PGConnection(conninfo: conninfo)
                } catch {
                    condition.lock()
                    opened -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw Exhausted()
            }
        }
    }

    private func release(_ connection: PGConnection, healthy: Bool) {
        condition.lock()
        if healthy && !closed {
            idle.append(connection)
        } else {
            opened -= 1
        }
        condition.signal()
        condition.unlock()
        if let observer { reportUsage(to: observer) }
    }
}
