import Foundation
import Logging
import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleServer
import MedsettleStore
import NIOCore
import PGClient

/// A running engine on its own fresh database, listening on an ephemeral loopback port.
final class TestEngine: Sendable {
    let conninfo: String
    let pool: PGPool
    let store: Store
    let server: MedsettleServer
    let clock: ManualClock

    var port: Int { server.localPort }

    /// 2026-11-29 10:00 in Shanghai, unless a test moves the clock.
    static let defaultNow: Int64 = 1_795_917_600

    /// - Parameter sharing: another engine whose database (and clock) this one uses, as a second
    ///   front of the same deployment.
    /// - Parameter database: a database of the test's own (with the demo data set) instead of a fresh one.
    /// - Parameter sessionSettings: server settings of the pool's connections (timeouts).
    /// - Parameter signInTimeout: the sign-in deadline, 10 minutes unless a test is about it (it
    ///   replaces the configuration's). A test's client can wait longer than the engine's 10 s
    ///   between its connect and its SIGNIN: the tests' tasks share two threads with other tests'
    ///   blocking database calls (CREATE DATABASE among them).
    static func start(configuration: ServerConfiguration = ServerConfiguration(host: "127.0.0.1", port: 0),
                      signInTimeout: TimeAmount = .minutes(10),
                      poolSize: Int = 8, now: Int64 = defaultNow, sharing other: TestEngine? = nil,
                      database: String? = nil, sessionSettings: [(name: String, value: String)] = [],
                      metrics: ServerMetrics = ServerMetrics(), logger custom: Logger? = nil,
                      tracing: RequestTracing? = nil) async throws -> TestEngine {
        let conninfo = try database ?? other?.conninfo ?? TestDatabaseServer.shared.freshDatabase()
        let pool = PGPool(conninfo: conninfo, size: poolSize, sessionSettings: Store.sessionSettings + sessionSettings)
        let clock = other?.clock ?? ManualClock(now)
        var logger = custom ?? Logger(label: "medsettle.test")
        if custom == nil { logger.logLevel = .warning }
        let store = try Store(pool: pool, secrets: TestDatabaseServer.shared.secrets, clock: clock, logger: logger, tracer: tracing?.tracer)
        var config = configuration
        config.host = "127.0.0.1"
        config.port = 0
        config.signInTimeout = signInTimeout
        config.tracing = tracing
        let server = try await MedsettleServer.start(configuration: config, store: store, metrics: metrics, logger: logger)
        return TestEngine(conninfo: conninfo, pool: pool, store: store, server: server, clock: clock)
    }

    private init(conninfo: String, pool: PGPool, store: Store, server: MedsettleServer, clock: ManualClock) {
        self.conninfo = conninfo
        self.pool = pool
        self.store = store
        self.server = server
        self.clock = clock
    }

    func stop() async {
        try? await server.shutdown()
        await store.close()
        pool.close()
    }

    /// Runs `body` on a connection signed in as `terminal` (a fixture terminal).
    func withTerminal<R: Sendable>(_ terminal: String, _ body: (MSLPConnection) async throws -> R) async throws -> R {
        try await MSLPClient.withConnection(host: "127.0.0.1", port: port) { connection in
            let reply = try await connection.signIn(terminal: terminal, key: Terminals.key(terminal))
            guard reply.ok else { throw TestFailure("sign-in as \(terminal) failed: \(reply)") }
            return try await body(connection)
        }
    }

    /// Runs `body` on a connection that has only been greeted.
    func withConnection<R: Sendable>(_ body: (MSLPConnection) async throws -> R) async throws -> R {
        try await MSLPClient.withConnection(host: "127.0.0.1", port: port, body)
    }

    /// One scalar from the engine's database (for checking what was, or was not, written).
    func scalar(_ sql: String, _ params: [(any PGBindable)?] = []) throws -> Int64? {
        try pool.withConnection { try $0.query(sql, params).int64(0, 0) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The fixture terminals' keys (from sql/seed/terminals.csv).
enum Terminals {
    static let keys: [String: String] = [
        "H001-01": "2e523d0890e4726a74f26603c62c7b16f631d62042ffc425fa143a3a21e1ec52",
        "H001-02": "2af8f21e70b13ca139d163a124823adebd804a353720734df33841b04031f40f",
        "H002-01": "69827cd8eed460ff73353fd4b9f78ad329d5988666318f9be608951001406e94",
        "H003-01": "5705214f1c3a418616c9c8830601a2b24e7cd127759406b471ba6e3cfed0d006",
        "P001-01": "ae57ce5cec99c2d4e56d1304ef77143110ec80c2a141b6fd666ddad0e60382ac",
        "P001-02": "4a48d77da573d894558e7e03b68ee2796c760583004ab8fce9aab163a56f3a07",
        "P002-01": "4f1ab7169b30fe664e15ddff1b2683624fd8a54e87e3b2d8599bd3e583234c74",
        "P002-99": "00c4c910c5fa1002ab1962ebd6525ffd51e7ba64a29836ab5e6ac707896246b5",
        "W001-01": "5233b0baa8858580b8d5bf14ded5ed4e1e4eb9558822d05caea477ce9c2fa914",
        "L001-01": "0d5d1e5c9039da0582a1526aae552fc362ad190a05619c4d12ed39d737eb3509",
        "O001-01": "58c298ab2d856fe9e6da0e081f0850621ccd76c809703faf8c15d1ea7a0f88a8",
        "G001-01": "c4ceef2f49fb4e4a2ae978296533ebd28e8e9a6b3e659845629f916f7ea5323d",
    ]

    static func key(_ terminal: String) -> [UInt8] { decodeHex(keys[terminal]!)! }
}

/// Demo people of the seed.
enum Demo {
    static let employeeCard = "H00000017", employeePIN = "246810"
    static let retireeCard = "H00000018", retireePIN = "135790"
    static let residentCard = "H00000019", residentPIN = "802461"
}

/// A fresh valid resident ID number for each call (17 digits from a counter + check character).
enum IDNumbers {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var next = 0

    static func fresh() -> String {
        lock.lock()
        next += 1
        let n = next
        lock.unlock()
        let first17 = "3201021990" + String(format: "%07d", (Int(getpid()) % 100) * 10_000 + n)
        return ResidentID.complete(first17)!
    }
}

extension ServerConfiguration {
    /// A server of a test that starts its own (outside `TestEngine`): loopback, any port, and the
    /// sign-in deadline of `TestEngine.start` (see there why it is long).
    static var forTests: ServerConfiguration {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.signInTimeout = .minutes(10)
        return configuration
    }
}
