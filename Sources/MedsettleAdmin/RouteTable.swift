import Hummingbird

/// A route as docs/admin-api.yaml names it: method and path, parameters as `{name}`.
public struct AdminRoute: Hashable, Sendable, CustomStringConvertible {
    public let method: String
    public let path: String

    public var description: String { "\(method) \(path)" }
}

/// The router of the HTTP side and the list of what it serves, built together so that the list
/// (checked against the OpenAPI document by the tests) cannot drift from the routes.
struct RouteTable {
    let router: Router<AdminRequestContext>
    private(set) var listed: [AdminRoute] = []

    typealias Handler = @Sendable (Request, AdminRequestContext) async throws -> Response

    init(router: Router<AdminRequestContext>) { self.router = router }

    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        router.on(RouterPath(path), method: method, use: handler)
        let documented = path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
        }.joined(separator: "/")
        listed.append(AdminRoute(method: method.rawValue, path: documented))
    }
}
