import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// The operators' HTTP side, on its own address: `/healthz` (the process answers), `/readyz` (the
/// engine's database answers and its schema is current), `/metrics` (Prometheus), and with
/// `Routes.all` the admin API and the staff console. Every request's size, the connections and
/// the rows of a page are bounded (`AdminHTTPConfiguration`).
public enum AdminHTTPServer {
    /// The application, to run as a service of the engine's service group; `onListening` gets the
    /// bound port. Also returns the documented routes it serves.
    public static func application(configuration: AdminHTTPConfiguration, backend: AdminBackend, logger: Logger,
                                   onListening: @escaping @Sendable (Int) -> Void = { _ in }) throws
        -> (service: any Service, routes: [AdminRoute]) {
        let (router, routes) = try makeRouter(configuration: configuration, backend: backend, logger: logger)
        let application = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: configuration.idleTimeout)),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil,
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        return (application, routes)
    }

    static func makeRouter(configuration: AdminHTTPConfiguration, backend: AdminBackend, logger: Logger) throws
        -> (Router<AdminRequestContext>, [AdminRoute]) {
        let router = Router(context: AdminRequestContext.self)
        let gate = AdminGate(backend: backend, logger: logger)
        router.add(middleware: BodyLimitMiddleware(maxBytes: configuration.maxBodyBytes, gate: gate))
        var routes = RouteTable(router: router)
        MonitoringRoutes(backend: backend).register(&routes)
        if configuration.routes == .all {
            let api = AdminAPI(gate: gate, backend: backend, maxPageRows: configuration.maxPageRows)
            router.add(middleware: UnknownAPIRouteMiddleware(gate: gate))
            api.register(&routes)
            try ConsoleAssets.load().register(&routes)
        }
        return (router, routes.listed)
    }
}

/// What a load balancer and Prometheus ask, without a token: they say nothing an operator's
/// token protects.
struct MonitoringRoutes: Sendable {
    let backend: AdminBackend

    func register(_ routes: inout RouteTable) {
        routes.add(.get, "/healthz") { _, _ in Reply.text("ok\n") }
        routes.add(.get, "/readyz") { [backend] _, _ in
            let verdict = try await backend.blocking { backend.readiness.check() }
            switch verdict {
            case .ready: return Reply.text("ready\n")
            case .notReady(let reason): return Reply.text("not ready: \(reason)\n", status: .serviceUnavailable)
            }
        }
        routes.add(.get, "/metrics") { [backend] _, _ in
            guard let registry = backend.metrics else { return Reply.text("no metrics in this process\n", status: .notFound) }
            backend.beforeScrape()
            return Reply.bytes(registry.emitToBuffer(), type: "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}

/// Refuses request bodies over the limit (413) before any route reads them: the API's requests
/// carry none, so a large body is a mistake or an attack. A refused `/api/` request is recorded.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let maxBytes: Int
    let gate: AdminGate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        var tooLarge = declared.map { $0 > maxBytes } ?? false
        if !tooLarge {
            do { _ = try await request.collectBody(upTo: maxBytes) } catch { tooLarge = true }
        }
        guard tooLarge else { return try await next(request, context) }
        let detail = "request body over \(maxBytes) bytes"
        if request.uri.path.hasPrefix("/api/") {
            await gate.recordRefusal(request, context, status: .contentTooLarge, detail: detail)
        }
        var response = Reply.error(.contentTooLarge, detail)
        response.headers[.connection] = "close"
        return response
    }
}

/// Any other `/api/…` request (a path or method the API does not have): refused as not found, and
/// recorded like every admin request. The router's own "not found" passes through here.
struct UnknownAPIRouteMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let gate: AdminGate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where request.uri.path.hasPrefix("/api/") && [.notFound, .methodNotAllowed].contains(error.status) {
            let action = "\(request.method) \(String(request.uri.path.prefix(120)))"
            return await gate.run(request, context, action: action, target: nil) { _, _ in
                throw AdminRefusal.notFound("no such admin route: \(request.method) \(request.uri.path) (docs/admin-api.yaml)")
            }
        }
    }
}
