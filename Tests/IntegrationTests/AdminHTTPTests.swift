import Foundation
import MedsettleAdmin
import MedsettleServer
import MedsettleStore
import PGClient
import Prometheus
import Testing

/// The operators' HTTP side: health and readiness, tokens and the audit log, the admin API over
/// the CLI's store operations, and the bounds it keeps.
@Suite struct AdminHTTPTests {
    @Test func healthAndReadiness() async throws {
        let engine = try await TestEngine.start()
        let admin = try await TestAdmin.start(engine: engine, routes: .monitoring)
        #expect(try await admin.request("/healthz").text == "ok\n")
        let ready = try await admin.request("/readyz")
        #expect(ready.status == 200 && ready.text == "ready\n", "\(ready.text)")
        // The monitoring listener has no API and no console.
        #expect(try await admin.request("/api/v1/terminals").status == 404)
        #expect(try await admin.request("/console/").status == 404)

        // A migration not applied: not ready, and saying which.
        _ = try engine.scalar("DELETE FROM schema_migrations WHERE version = 11 RETURNING version")
        let pending = try await admin.request("/readyz")
        #expect(pending.status == 503 && pending.text.contains("0011_operators_audit"), "\(pending.text)")
        await admin.stop()

        // A database that does not answer: not ready.
        let nowhere = try await TestAdmin.start(engine: engine, routes: .monitoring, readinessConninfo: "host=127.0.0.1 port=1 dbname=none")
        let down = try await nowhere.request("/readyz")
        #expect(down.status == 503 && down.text.hasPrefix("not ready: database"), "\(down.text)")
        await nowhere.stop()
        await engine.stop()
    }

    @Test func tokensAreCheckedAndEveryRequestIsAudited() async throws {
        let engine = try await TestEngine.start()
        let admin = try await TestAdmin.start(engine: engine)
        let token = try admin.token("alice")
        #expect(token.hasPrefix("mso_") && token.count == 68)
        // Only the hash is stored.
        #expect(try engine.scalar("SELECT count(*) FROM operator WHERE token_sha256::text LIKE '%' || $1 || '%'", [String(token.dropFirst(4).prefix(16))]) == 0)

        let none = try await admin.request("/api/v1/whoami")
        #expect(none.status == 401 && none.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        let wrong = try await admin.request("/api/v1/terminals", token: "mso_" + String(repeating: "0", count: 64))
        #expect(wrong.status == 401)
        let me = try await admin.request("/api/v1/whoami", token: token)
        #expect(try me.status == 200 && (try me.object["operator"] as? String) == "alice")

        try admin.pool.withConnection { try Operators.revoke($0, name: "alice", by: TestAdmin.testActor) }
        #expect(try await admin.request("/api/v1/whoami", token: token).status == 401)
        #expect(throws: OperatorError.nameTaken("alice")) { try admin.token("alice") }
        #expect(throws: OperatorError.badName("Alice Smith")) { try admin.token("Alice Smith") }

        let rows = try admin.pool.withConnection { try AuditLog.page($0, before: .max, limit: 10) }.reversed().map { $0 }
        #expect(rows.map(\.action) == ["operator.add", "whoami", "terminal.list", "whoami", "operator.revoke", "whoami"])
        #expect(rows.map(\.outcome) == ["done", "refused", "refused", "done", "done", "refused"])
        #expect(rows.map(\.operator) == [nil, nil, nil, "alice", nil, nil])
        #expect(rows[1].detail == "no bearer token" && rows[2].detail == "unknown or revoked token")
        #expect(rows[3].client.hasPrefix("127.0.0.1:") && rows[3].channel == "http" && rows[3].status == 200)
        #expect(rows[0].channel == "cli" && rows[0].target == "alice")
        await admin.stop()
        await engine.stop()
    }

    @Test func theAuditLogIsAppendOnly() async throws {
        let engine = try await TestEngine.start()
        let admin = try await TestAdmin.start(engine: engine)
        _ = try admin.token("bob")
        for statement in ["UPDATE admin_audit SET action = 'nothing'", "DELETE FROM admin_audit", "TRUNCATE admin_audit"] {
            let error = #expect(throws: PGError.self, "\(statement)") { try admin.pool.withConnection { try $0.execute(statement) } }
            #expect(error?.message.contains("admin_audit is append-only") == true, "\(String(describing: error))")
        }
        #expect(try engine.scalar("SELECT count(*) FROM admin_audit") == 1)
        await admin.stop()
        await engine.stop()
    }

    @Test func terminalsAreListedInPagesAndDisabledWithTheirAuditRow() async throws {
        let engine = try await TestEngine.start()
        let admin = try await TestAdmin.start(engine: engine) { $0.maxPageRows = 10 }
        let token = try admin.token("carol")
        let first = try await admin.request("/api/v1/terminals?limit=5", token: token)
        let firstItems = try first.items
        #expect(firstItems.count == 5)
        let next = try #require(try first.object["next"] as? String)
        let second = try await admin.request("/api/v1/terminals?limit=5&after=\(next)", token: token)
        #expect((try second.items.first?["terminal"] as? String).map { $0 > next } == true)
        #expect(try await admin.request("/api/v1/terminals?limit=11", token: token).status == 400)

        let disabled = try await admin.request("POST", "/api/v1/terminals/P001-02/disable", token: token)
        #expect(try disabled.status == 200 && (try disabled.object["enabled"] as? Bool) == false, "\(disabled.text)")
        #expect(try engine.scalar("SELECT count(*) FROM terminal WHERE id = 'P001-02' AND NOT enabled") == 1)
        #expect(try engine.scalar("SELECT count(*) FROM admin_audit WHERE action = 'terminal.disable' AND target = 'P001-02' AND operator = 'carol' AND outcome = 'done'") == 1)
        let enabled = try await admin.request("POST", "/api/v1/terminals/P001-02/enable", token: token)
        #expect((try enabled.object["enabled"] as? Bool) == true)
        let unknown = try await admin.request("POST", "/api/v1/terminals/NOPE-01/disable", token: token)
        #expect(try unknown.status == 404 && (try unknown.object["error"] as? String) == "no terminal NOPE-01")
        #expect(try engine.scalar("SELECT count(*) FROM admin_audit WHERE target = 'NOPE-01' AND outcome = 'refused' AND status = 404") == 1)
        let nowhere = try await admin.request("DELETE", "/api/v1/terminals/P001-02", token: token)
        #expect(nowhere.status == 404)
        #expect(try engine.scalar("SELECT count(*) FROM admin_audit WHERE action = 'DELETE /api/v1/terminals/P001-02' AND outcome = 'refused'") == 1)
        await admin.stop()
        await engine.stop()
    }

    @Test func settlementsCardsReportsAndTheReconciliationFile() async throws {
        let engine = try await TestEngine.start()
        let refusals = RefusalTally(today: { engine.store.businessDate() })
        let admin = try await TestAdmin.start(engine: engine, refusals: refusals) { $0.maxPageRows = 50 }
        let token = try admin.token("dave")
        let (_, card) = try await engine.newCardholder(credit: 10_000)
        let settlement = try await engine.withTerminal("P001-01") { c in
            let settled = try await c.request("SETTLE s trace=ADM-1 card=\(card) pin=470291 items=A002*2@1200")
            return try #require(settled.value("settlement"), "\(settled)")
        }
        refusals.record("PIN_WRONG")

        let shown = try await admin.request("/api/v1/settlements/\(settlement)", token: token)
        let object = try shown.object
        #expect(object["settlement"] as? String == settlement && object["card"] as? String == card)
        #expect(object["total"] as? Int == 2400 && object["state"] as? String == "settled")
        #expect(try await admin.request("/api/v1/settlements/S999999", token: token).status == 404)
        #expect(try await admin.request("/api/v1/settlements/nonsense", token: token).status == 404)

        let date = engine.store.businessDate().yyyymmdd
        let file = try await admin.request("/api/v1/reconciliation?institution=P001&date=\(date)", token: token)
        #expect(file.status == 200 && file.headers["content-type"]?.hasPrefix("text/csv") == true)
        #expect(file.headers["content-disposition"] == "attachment; filename=\"recon-P001-\(date).csv\"")
        let lines = file.text.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("settlement,business_date,institution") && lines[1].hasPrefix("\(settlement),\(date),P001"))
        #expect(try await admin.request("/api/v1/reconciliation", token: token).status == 400)
        #expect(try await admin.request("/api/v1/reconciliation?institution=P001&date=2026", token: token).status == 400)

        let report = try await admin.request("/api/v1/reports/daily", token: token)
        let institutions = try #require(try report.object["institutions"] as? [[String: Any]])
        #expect(institutions.count == 1 && institutions[0]["institution"] as? String == "P001" && institutions[0]["total"] as? Int == 2400)

        let figures = try await admin.request("/api/v1/figures", token: token).object
        let perMinute = try #require(figures["perMinute"] as? [[String: Any]])
        #expect(perMinute.count == 1 && perMinute[0]["kind"] as? String == "pharmacy" && perMinute[0]["count"] as? Int == 1)
        #expect((figures["totals"] as? [String: Any])?["total"] as? Int == 2400)
        #expect((figures["refusals"] as? [String: Any])?["PIN_WRONG"] as? Int == 1)

        // The card's story, a page at a time.
        let events = try #require(try engine.scalar("SELECT count(*) FROM card_event WHERE card_no = $1", [card]))
        #expect(events >= 2)
        let page = try await admin.request("/api/v1/cards/\(card)/history?limit=1", token: token)
        let after = try #require(try page.object["next"] as? String)
        let rest = try await admin.request("/api/v1/cards/\(card)/history?after=\(after)", token: token)
        #expect(try page.items.count + rest.items.count == Int(events))
        #expect(try rest.object["next"] == nil || (try rest.object["next"] is NSNull))
        #expect(try await admin.request("/api/v1/cards/H99999999/history", token: token).status == 404)
        await admin.stop()
        await engine.stop()
    }

    @Test func bodiesAndPagesAreBounded() async throws {
        let engine = try await TestEngine.start()
        let admin = try await TestAdmin.start(engine: engine) { $0.maxBodyBytes = 1024 }
        let token = try admin.token("erin")
        let large = try await admin.request("POST", "/api/v1/terminals/P001-02/disable", token: token, body: Data(repeating: 0x41, count: 4096))
        #expect(large.status == 413)
        #expect(try engine.scalar("SELECT count(*) FROM terminal WHERE id = 'P001-02' AND enabled") == 1)
        #expect(try engine.scalar("SELECT count(*) FROM admin_audit WHERE outcome = 'refused' AND status = 413") == 1)
        #expect(try await admin.request("/api/v1/audit?limit=0", token: token).status == 400)
        let audit = try await admin.request("/api/v1/audit?limit=1", token: token)
        #expect(try audit.items.count == 1 && (try audit.object["next"] as? String) != nil)
        await admin.stop()
        await engine.stop()
    }

    /// The OpenAPI document and the server agree: every route served is documented, every
    /// documented route is served.
    @Test func theOpenAPIDocumentListsExactlyTheRoutes() async throws {
        let engine = try await TestEngine.start()
        let admin = try await TestAdmin.start(engine: engine)
        let served = Set(admin.server.routes.map(\.description))
        let documented = Set(try Self.documentedRoutes())
        #expect(served.subtracting(documented).isEmpty, "served, not documented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented, not served: \(documented.subtracting(served).sorted())")
        #expect(served.count > 10)
        await admin.stop()
        await engine.stop()
    }

    /// `METHOD /path` of every operation under `paths:` of docs/admin-api.yaml (two-space path
    /// keys, four-space method keys, as the document is written).
    static func documentedRoutes() throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/admin-api.yaml"), encoding: .utf8)
        var routes: [String] = []
        var inPaths = false
        var path: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, let first = line.first, first != " " { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "),
                      let method = ["get", "post", "put", "delete", "patch"].first(where: { line == "    \($0):" }) {
                routes.append("\(method.uppercased()) \(path)")
            }
        }
        return routes
    }
}
