import Dispatch
import Synchronization

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
/// A semaphore counts the connections not lent out (the wait); a `Mutex` guards the idle list.
public final class PGPool: Sendable {
    public struct Exhausted: Error, CustomStringConvertible {
        public var description: String { "no database connection became free in time" }
    }

    private struct State {
        var idle: [PGConnection] = []
        var opened = 0
        var closed = false
    }

    public let conninfo: String
    /// Server settings every connection of the pool sets when it opens (`PGConnection.init`).
    public let sessionSettings: [(name: String, value: String)]
    public let size: Int
    private let acquireTimeout: Double
    private let observer: (any PGPoolObserver)?
    /// One permit per connection that may be lent now.
    private let permits: DispatchSemaphore
    private let state = Mutex(State())

    /// - Parameter acquireTimeoutSeconds: the longest a borrower waits for a free connection.
    /// - Parameter sessionSettings: server settings of every connection (timeouts, say).
    public init(conninfo: String, size: Int, acquireTimeoutSeconds: Double = 5, sessionSettings: [(name: String, value: String)] = [],
                observer: (any PGPoolObserver)? = nil) {
        precondition(size > 0, "a pool has at least one connection")
        precondition(acquireTimeoutSeconds >= 0, "a wait is not negative")
        self.conninfo = conninfo
        self.sessionSettings = sessionSettings
        self.size = size
        self.acquireTimeout = acquireTimeoutSeconds
        self.observer = observer
        self.permits = DispatchSemaphore(value: size)
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
    /// Borrowers waiting for a connection are woken and refused at once.
    public func close() {
        let idle = state.withLock { state -> [PGConnection] in
            state.closed = true
            defer { state.idle.removeAll() }
            return state.idle
        }
        _ = idle // closed as they go out of scope here, outside the lock
        for _ in 0..<size { permits.signal() }
    }

    private func acquire() throws -> PGConnection {
        let started = DispatchTime.now().uptimeNanoseconds
        guard permits.wait(timeout: .now() + acquireTimeout) == .success else { throw Exhausted() }
        enum Lent { case idle(PGConnection), open, closed }
        let lent = state.withLock { state -> Lent in
            if state.closed { return .closed }
            if let connection = state.idle.popLast() { return .idle(connection) }
            state.opened += 1
            return .open
        }
        let connection: PGConnection
        switch lent {
        case .closed:
            permits.signal()
            throw PGError(kind: .connection, message: "pool is closed")
        case .idle(let idle):
            connection = idle
        case .open:
            do {
                connection = try PGConnection(conninfo: conninfo, settings: sessionSettings)
            } catch {
                state.withLock { $0.opened -= 1 }
                permits.signal()
                throw error
            }
        }
        if let observer {
            observer.acquired(waitedNanoseconds: Int64(DispatchTime.now().uptimeNanoseconds - started))
            reportUsage(to: observer)
        }
        return connection
    }

    private func reportUsage(to observer: any PGPoolObserver) {
        let (open, idle) = state.withLock { ($0.opened, $0.idle.count) }
        observer.usage(inUse: open - idle, open: open)
    }

    private func release(_ connection: PGConnection, healthy: Bool) {
        state.withLock { state in
            if healthy && !state.closed {
                state.idle.append(connection)
            } else {
                state.opened -= 1
            }
        }
        permits.signal()
        if let observer { reportUsage(to: observer) }
    }
}
