import Foundation
import Hummingbird
import MedsettleCore
import MedsettleStore
import PGClient

/// The admin API (docs/admin-api.yaml): each route one action of the gate, over the same store
/// operations the CLI uses (`card history`, `recon export`, `report daily`, `terminal …`).
struct AdminAPI: Sendable {
    let gate: AdminGate
    let backend: AdminBackend
    let maxPageRows: Int

    func register(_ routes: inout RouteTable) {
        routes.add(.get, "/api/v1/whoami") { request, context in
            await gate.run(request, context, action: "whoami", target: nil) { _, actor in
                ActionResult(try Reply.json(AdminDocuments.Operator(operator: actor.operatorName ?? "")))
            }
        }
        routes.add(.get, "/api/v1/figures") { request, context in
            await gate.run(request, context, action: "figures", target: request.uri.queryParameters.get("date")) { [backend] connection, _ in
                let day = try dateParameter(request) ?? backend.today()
                return ActionResult(try Reply.json(AdminDocuments.Figures(
                    date: day, perMinute: try DayActivity.perMinute(connection, date: day),
                    daily: try SettlementReports.daily(connection, date: day), refusals: backend.refusals(day))))
            }
        }
        routes.add(.get, "/api/v1/cards/:card/history") { request, context in
            let card = context.parameters.get("card") ?? ""
            return await gate.run(request, context, action: "card.history", target: card) { [maxPageRows] connection, _ in
                let page = try PageRequest(request, maxRows: maxPageRows)
                let after = try page.cursor.map { cursor -> Int64 in
                    guard let id = Int64(cursor), id >= 0 else { throw AdminRefusal.badRequest("after must be an event id") }
                    return id
                } ?? 0
                guard Self.isPlausibleCardNumber(card),
                      let events = try CardHistory.load(connection, cardNo: card, after: after, limit: page.limit + 1) else {
                    throw AdminRefusal.notFound("no card \(card)")
                }
                let items = Array(events.prefix(page.limit))
                return ActionResult(try Reply.json(Page(items: items, next: events.count > page.limit ? items.last.map { String($0.id) } : nil)))
            }
        }
        routes.add(.get, "/api/v1/settlements/:settlement") { request, context in
            let id = context.parameters.get("settlement") ?? ""
            return await gate.run(request, context, action: "settlement.show", target: id) { connection, _ in
                guard let cells = try SettlementReports.settlement(connection, id: id) else {
                    throw AdminRefusal.notFound("no settlement \(id)")
                }
                return ActionResult(try Reply.json(AdminDocuments.object(header: SettlementReports.exportHeader, cells: cells)))
            }
        }
        routes.add(.get, "/api/v1/reconciliation") { request, context in
            let institution = request.uri.queryParameters.get("institution") ?? ""
            return await gate.run(request, context, action: "reconciliation.export", target: institution) { [backend] connection, _ in
                guard Self.isPlausibleCode(institution) else { throw AdminRefusal.badRequest("institution must be an institution's code") }
                let day = try dateParameter(request) ?? backend.today()
                let rows = try SettlementReports.detail(connection, institution: institution, date: day)
                let csv = SettlementReports.csv(header: SettlementReports.exportHeader, rows: rows)
                return ActionResult(Reply.bytes(Array(csv.utf8), type: "text/csv; charset=utf-8", extra: [
                    .contentDisposition: "attachment; filename=\"recon-\(institution)-\(day.yyyymmdd).csv\""]))
            }
        }
        routes.add(.get, "/api/v1/reports/daily") { request, context in
            await gate.run(request, context, action: "report.daily", target: nil) { [backend] connection, _ in
                let day = try dateParameter(request) ?? backend.today()
                return ActionResult(try Reply.json(AdminDocuments.DailyReport(date: day, rows: try SettlementReports.daily(connection, date: day))))
            }
        }
        routes.add(.get, "/api/v1/terminals") { request, context in
            await gate.run(request, context, action: "terminal.list", target: nil) { [backend, maxPageRows] connection, _ in
                let page = try PageRequest(request, maxRows: maxPageRows)
                let all = try TerminalAdministration(connection: connection, secrets: backend.secrets).list()
                let after = page.cursor ?? ""
                let rest = all.filter { $0.id > after }
                let items = rest.prefix(page.limit).map(AdminDocuments.Terminal.init)
                return ActionResult(try Reply.json(Page(items: Array(items), next: rest.count > page.limit ? items.last?.terminal : nil)))
            }
        }
        for (verb, enabled) in [("disable", false), ("enable", true)] {
            routes.add(.post, "/api/v1/terminals/:terminal/\(verb)") { request, context in
                let terminal = context.parameters.get("terminal") ?? ""
                return await gate.run(request, context, action: "terminal.\(verb)", target: terminal) { [backend] connection, actor in
                    let audit = AuditEntry(actor: actor, action: "terminal.\(verb)", target: terminal, outcome: .done, status: 200)
                    try TerminalAdministration(connection: connection, secrets: backend.secrets).setEnabled(terminal, enabled, audit: audit)
                    return ActionResult(try Reply.json(AdminDocuments.TerminalState(terminal: terminal, enabled: enabled)), auditedInside: true)
                }
            }
        }
        routes.add(.get, "/api/v1/audit") { request, context in
            await gate.run(request, context, action: "audit.list", target: nil) { [maxPageRows] connection, _ in
                let page = try PageRequest(request, maxRows: maxPageRows)
                let before = try page.cursor.map { cursor -> Int64 in
                    guard let id = Int64(cursor), id > 0 else { throw AdminRefusal.badRequest("before must be an audit row id") }
                    return id
                } ?? .max
                let rows = try AuditLog.page(connection, before: before, limit: page.limit + 1)
                let items = Array(rows.prefix(page.limit))
                return ActionResult(try Reply.json(Page(items: items, next: rows.count > page.limit ? items.last.map { String($0.id) } : nil)))
            }
        }
    }

    /// `date=YYYYMMDD`, nil when absent.
    func dateParameter(_ request: Request) throws -> BusinessDate? {
        guard let text = request.uri.queryParameters.get("date") else { return nil }
        guard let date = BusinessDate(yyyymmdd: text) else { throw AdminRefusal.badRequest("date must be YYYYMMDD") }
        return date
    }

    static func isPlausibleCardNumber(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count) && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) }
    }

    static func isPlausibleCode(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count) && text.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F
        }
    }
}
