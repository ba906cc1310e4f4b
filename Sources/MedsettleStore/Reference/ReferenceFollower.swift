import Foundation
import Logging
import PGClient
import Synchronization

/// Keeps a `ReferenceBook` current: one connection of its own `LISTEN`s on `medsettle_reference`
/// (sent by triggers when an import or a terminal command commits) and reloads the part named.
/// When that connection is lost it reconnects and reloads everything, since notifications sent
/// meanwhile are gone. Runs on a thread of its own: libpq blocks.
final class ReferenceFollower: Sendable {
    static let channel = "medsettle_reference"
    /// How long one wait for notifications lasts before the stop flag is looked at again.
    static let waitMilliseconds: Int32 = 200

    private struct State {
        var stopping = false
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let book: ReferenceBook
    private let conninfo: String
    private let logger: Logger
    private let state = Mutex(State())
    private let throttle = LogThrottle(interval: .seconds(10))

    init(book: ReferenceBook, conninfo: String, logger: Logger) {
        self.book = book
        self.conninfo = conninfo
        self.logger = logger
    }

    /// Starts following. `listening` is the connection already listening, opened by the caller
    /// before the first full load, so that nothing committed after that load is missed.
    func start(listening connection: PGConnection) {
        let thread = Thread { [self] in
            follow(connection)
            let waiters = state.withLock { state in
                state.finished = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "medsettle-reference"
        thread.start()
    }

    /// Stops following and waits until the thread has let its connection go.
    func stop() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                state.stopping = true
                if !state.finished { state.waiters.append(continuation) }
                return state.finished
            }
            if done { continuation.resume() }
        }
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    /// The listening connection's name in `pg_stat_activity`.
    static let applicationName = "medsettle-reference"

    /// Opens a connection that listens for reference changes.
    static func listen(_ conninfo: String) throws -> PGConnection {
        let connection = try PGConnection(conninfo: conninfo)
        try connection.execute("SET application_name = '\(applicationName)'; LISTEN \(channel)")
        return connection
    }

    private func follow(_ first: PGConnection) {
        var connection: PGConnection? = first
        while !stopping {
            do {
                if connection == nil {
                    let fresh = try Self.listen(conninfo)
                    try book.load(Set(ReferenceBook.Part.allCases), from: fresh)
                    connection = fresh
                    book.following(true)
                    logger.notice("following reference data changes again")
                }
                guard let listening = connection else { continue }
                let notes = try listening.notifications(waitingUpTo: Self.waitMilliseconds)
                let parts = Set(notes.compactMap { ReferenceBook.Part(rawValue: $0.payload) })
                if !parts.isEmpty { try book.load(parts, from: listening) }
            } catch {
                connection = nil
                book.following(false)
                throttle.warning(logger, "reference data changes cannot be followed; retrying",
                                 metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }
}
