import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import MedsettleAdmin
import MedsettleServer
import MedsettleStore
import PGClient
import Prometheus

/// The operators' HTTP side of a test engine, on an ephemeral loopback port, with its own pool
/// and, for the console's refusals, the engine's tally (when the engine was started with one).
final class TestAdmin: Sendable {
    let server: RunningAdminServer
    let pool: PGPool
    let backend: AdminBackend

    var port: Int { server.port }
    var base: String { "http://127.0.0.1:\(server.port)" }

    static func start(engine: TestEngine, routes: AdminHTTPConfiguration.Routes = .all, refusals: RefusalTally? = nil,
                      registry: PrometheusCollectorRegistry? = nil, readinessConninfo: String? = nil,
                      configure: (inout AdminHTTPConfiguration) -> Void = { _ in }) async throws -> TestAdmin {
        let pool = PGPool(conninfo: engine.conninfo, size: 2, acquireTimeoutSeconds: 5)
        let store = engine.store
        let backend = AdminBackend(pool: pool, secrets: TestDatabaseServer.shared.secrets,
                                   readiness: ReadinessProbe(conninfo: readinessConninfo ?? engine.conninfo), metrics: registry,
                                   today: { store.businessDate() }, refusals: { refusals?.counts(on: $0) ?? [:] })
        var configuration = AdminHTTPConfiguration(host: "127.0.0.1", port: 0, routes: routes)
        configure(&configuration)
        var logger = Logger(label: "medsettle.admin.test")
        logger.logLevel = .warning
        let server = try await RunningAdminServer.start(configuration: configuration, backend: backend, logger: logger)
        return TestAdmin(server: server, pool: pool, backend: backend)
    }

    private init(server: RunningAdminServer, pool: PGPool, backend: AdminBackend) {
        self.server = server
        self.pool = pool
        self.backend = backend
    }

    func stop() async {
        await server.stop()
        await backend.shutdown()
        pool.close()
    }

    /// A new operator's token.
    func token(_ name: String) throws -> String {
        try pool.withConnection { try Operators.add($0, name: name, by: Self.testActor).token }
    }

    static let testActor = AuditActor(operatorName: nil, channel: .cli, client: "user test on localhost")

    /// A GET.
    func request(_ path: String, token: String? = nil) async throws -> HTTPAnswer {
        try await request("GET", path, token: token)
    }

    /// One HTTP request; the status, the headers (lowercased names) and the body.
    func request(_ method: String, _ path: String, token: String? = nil, body: Data? = nil,
                 headers: [String: String] = [:]) async throws -> HTTPAnswer {
        try await Self.send(method, base + path, token: token, body: body, headers: headers)
    }

    /// A GET against the HTTP side of a `medsettle serve` a test started, on 127.0.0.1:`port`.
    static func get(port: Int, path: String) async throws -> HTTPAnswer {
        try await send("GET", "http://127.0.0.1:\(port)" + path)
    }

    private static func send(_ method: String, _ url: String, token: String? = nil, body: Data? = nil,
                             headers: [String: String] = [:]) async throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return HTTPAnswer(status: http.statusCode, headers: fields, body: data)
    }

    /// No redirects followed, nothing cached.
    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }()

    private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }
}

struct HTTPAnswer: Sendable {
    let status: Int
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object.
    var object: [String: Any] {
        get throws {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw TestFailure("not a JSON object: \(text)")
            }
            return object
        }
    }

    /// `items` of a page.
    var items: [[String: Any]] {
        get throws { (try object["items"] as? [[String: Any]]) ?? [] }
    }
}
