import Foundation
import Hummingbird
import Logging
import MedsettleStore
import PGClient

/// What an admin action produced, and whether it wrote its audit row itself (inside the
/// transaction of the change it made, so that the change and its record commit together).
struct ActionResult: Sendable {
    let response: Response
    let auditedInside: Bool

    init(_ response: Response, auditedInside: Bool = false) {
        self.response = response
        self.auditedInside = auditedInside
    }
}

/// The way into every admin action: the bearer token checked against the operators, the action
/// run on a pooled connection off the event loops, and one audit row for every request, done or
/// refused (who, what, when, from where, how it ended). A response is only sent once its audit
/// row is written: when the log cannot be written, nothing is done or returned (503).
struct AdminGate: Sendable {
    let backend: AdminBackend
    let logger: Logger

    typealias Action = @Sendable (PGConnection, AuditActor) throws -> ActionResult

    func run(_ request: Request, _ context: AdminRequestContext, action: String, target: String?,
             _ body: @escaping Action) async -> Response {
        let client = context.client
        let anonymous = AuditActor(operatorName: nil, channel: .http, client: client)
        @Sendable func entry(_ actor: AuditActor, _ outcome: AuditOutcome, _ status: HTTPResponse.Status, _ detail: String? = nil) -> AuditEntry {
            AuditEntry(actor: actor, action: action, target: target, outcome: outcome, status: status.code, detail: detail)
        }
        let token = Self.bearerToken(request)
        do {
            return try await backend.blocking {
                try backend.pool.withConnection { connection in
                    guard let token else {
                        try AuditLog.record(connection, entry(anonymous, .refused, .unauthorized, "no bearer token"))
                        return Reply.error(.unauthorized, "sign in: send Authorization: Bearer <operator token>")
                    }
                    guard let name = try Operators.authenticate(connection, token: token) else {
                        try AuditLog.record(connection, entry(anonymous, .refused, .unauthorized, "unknown or revoked token"))
                        return Reply.error(.unauthorized, "unknown or revoked operator token")
                    }
                    let actor = AuditActor(operatorName: name, channel: .http, client: client)
                    do {
                        let result = try body(connection, actor)
                        if !result.auditedInside { try AuditLog.record(connection, entry(actor, .done, result.response.status)) }
                        return result.response
                    } catch let error where AdminRefusal.from(error) != nil {
                        let refusal = AdminRefusal.from(error)!
                        try AuditLog.record(connection, entry(actor, .refused, refusal.status, refusal.message))
                        return Reply.error(refusal.status, refusal.message)
                    } catch let error as PGError where error.sqlState == "42501" {
                        // The admin side's role may not do this (the engine's application role may
                        // not change terminals): a setting to fix, said plainly and recorded.
                        let message = "the admin side's database role may not do this: set admin-database-url to a role that may (docs/OPERATIONS.md)"
                        try AuditLog.record(connection, entry(actor, .failed, .serviceUnavailable, message))
                        return Reply.error(.serviceUnavailable, message)
                    }
                }
            }
        } catch {
            // The database (or the audit log in it) out of reach: nothing was done, nothing is shown.
            logger.warning("admin request failed", metadata: ["action": "\(action)", "client": "\(client)", "error": "\(error)"])
            return Reply.error(.serviceUnavailable, "the database is unavailable: nothing was done (try again)")
        }
    }

    /// Records a request refused before it reached an action (a body over the limit), without
    /// looking at its token.
    func recordRefusal(_ request: Request, _ context: AdminRequestContext, status: HTTPResponse.Status, detail: String) async {
        let entry = AuditEntry(actor: AuditActor(operatorName: nil, channel: .http, client: context.client),
                               action: "\(request.method) \(String(request.uri.path.prefix(120)))", outcome: .refused,
                               status: status.code, detail: detail)
        do {
            try await backend.blocking { try backend.pool.withConnection { try AuditLog.record($0, entry) } }
        } catch {
            logger.warning("admin audit row not written", metadata: ["error": "\(error)"])
        }
    }

    /// The token of `Authorization: Bearer TOKEN`, nil without one.
    static func bearerToken(_ request: Request) -> String? {
        guard let value = request.headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
