import Logging
import ServiceLifecycle

/// The HTTP side running on its own, outside an engine's service group: for tests and tools that
/// need its port and a way to stop it.
public final class RunningAdminServer: Sendable {
    public struct NotListening: Error, CustomStringConvertible {
        public var description: String { "the admin HTTP side did not start listening (see the log)" }
    }

    public let port: Int
    /// The documented routes it serves.
    public let routes: [AdminRoute]
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    private init(port: Int, routes: [AdminRoute], group: ServiceGroup, task: Task<Void, Never>) {
        self.port = port
        self.routes = routes
        self.group = group
        self.task = task
    }

    public static func start(configuration: AdminHTTPConfiguration, backend: AdminBackend,
                             logger: Logger = Logger(label: "medsettle.admin")) async throws -> RunningAdminServer {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let (service, routes) = try AdminHTTPServer.application(configuration: configuration, backend: backend, logger: logger) {
            continuation.yield($0)
        }
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let task = Task {
            do { try await group.run() } catch { logger.warning("admin HTTP side stopped", metadata: ["error": "\(error)"]) }
            continuation.finish()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw NotListening() }
        return RunningAdminServer(port: port, routes: routes, group: group, task: task)
    }

    /// Stops listening, finishes the requests in progress, and returns when it has stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}
