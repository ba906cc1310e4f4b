import Foundation
import MSLPChannel
import MedsettleSQL
import MedsettleStore
import PGClient
import Testing

/// docs/OPERATIONS.md §9 "Two roles", run as written: the SQL blocks are read from the document
/// itself (the one copy), with the role and database names made unique. The owner migrates and
/// loads the demo data set; the engine then serves every kind of request as the application role,
/// which cannot write reference data, delete, read the migrations' record or change the schema.
@Suite struct DatabaseRolesTests {
    static let operations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/OPERATIONS.md").standardized.path

    /// The fenced SQL block after the `<!-- roles:NAME` marker.
    static func block(_ name: String) throws -> String {
        let text = try String(contentsOfFile: operations, encoding: .utf8)
        guard let marker = text.range(of: "<!-- roles:\(name) "),
              let open = text.range(of: "```sql\n", range: marker.upperBound..<text.endIndex),
              let close = text.range(of: "\n```", range: open.upperBound..<text.endIndex) else {
            throw TestFailure("docs/OPERATIONS.md has no roles:\(name) block")
        }
        return String(text[open.upperBound..<close.lowerBound])
    }

    /// `sql` with the documented names replaced, whole words only.
    static func renamed(_ sql: String, _ names: [(String, String)]) -> String {
        names.reduce(sql) { text, pair in
            text.replacingOccurrences(of: "\\b\(pair.0)\\b", with: pair.1, options: .regularExpression)
        }
    }

    /// `url` reaching `database` as `user` with `password`.
    static func conninfo(_ url: String, database: String, user: String, password: String) -> String {
        let base = TestDatabaseServer.conninfo(url, database: database)
        if base.hasPrefix("postgres://") || base.hasPrefix("postgresql://"), var components = URLComponents(string: base) {
            components.user = user
            components.password = password
            return components.string ?? base
        }
        return base + " user=\(user) password=\(password)"
    }

    @Test func theApplicationRoleServesAndCannotWriteReferenceData() async throws {
        let adminURL = try TestDatabaseServer.shared.freshDatabase()
        let admin = try PGConnection(conninfo: adminURL)
        let suffix = "\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let owner = "ms_owner_\(suffix)", app = "ms_app_\(suffix)", database = "ms_roles_\(suffix)"
        let names = [("medsettle_owner", owner), ("medsettle_app", app), ("medsettle", database)]
        let password = "pw\(suffix)"

        // As a superuser: the roles and the database (one statement at a time: CREATE DATABASE
        // runs outside a transaction; psql's \password lines are the operator's).
        for line in Self.renamed(try Self.block("create"), names).split(separator: "\n") where !line.hasPrefix("\\") {
            try admin.execute(String(line))
        }
        try admin.execute("ALTER ROLE \(owner) PASSWORD '\(password)'; ALTER ROLE \(app) PASSWORD '\(password)'")
        let ownerURL = Self.conninfo(adminURL, database: database, user: owner, password: password)
        let appURL = Self.conninfo(adminURL, database: database, user: app, password: password)

        // As the owner: migrate with the grants (what `migrate --app-role` runs is what the docs
        // show), the demo data set.
        #expect(try SQLResources.applicationGrants(role: "medsettle_app")?.contains(try Self.block("grant")) == true,
                "docs/OPERATIONS.md shows sql/roles/app_grants.sql")
        let ownerConnection = try PGConnection(conninfo: ownerURL)
        try Migrator.migrate(ownerConnection)
        try Migrator.grantApplicationRole(ownerConnection, role: app)
        try DatabaseSetup.prepare(conninfo: ownerURL, secrets: TestDatabaseServer.shared.secrets, loadReferenceData: true, demoPeople: true)
        let grants = try #require(try SQLResources.applicationGrants(role: app))

        // As the application role: the engine serves.
        let engine = try await TestEngine.start(database: appURL)
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        try await engine.withTerminal("P001-01") { c in
            let settled = try await c.request("SETTLE s trace=R-1 card=\(card) pin=470291 items=A002*1@1200")
            #expect(settled.ok, "\(settled)")
            let cancelled = try await c.request("CANCEL c trace=R-2 settlement=\(settled.value("settlement") ?? "")")
            #expect(cancelled.ok, "\(cancelled)")
            #expect(try await c.request("QUERY q trace=R-1").value("state") == "cancelled")
        }
        let token = try await engine.withTerminal("O001-01") { c in
            let code = try await c.request("QRCODE q card=\(card)")
            return try #require(code.value("qr"), "\(code)")
        }
        try await engine.withTerminal("P002-01") { c in
            let paid = try await c.request("SETTLE s trace=R-3 qr=\(token) items=A002*1@1200")
            #expect(paid.ok, "\(paid)")
        }
        try await engine.withTerminal("H001-01") { c in
            let admitted = try await c.request("ADMIT a trace=R-4 card=\(card) pin=470291 ward=W1")
            let admission = try #require(admitted.value("admission"), "\(admitted)")
            #expect(try await c.request("FEES f trace=R-5 admission=\(admission) items=S001*1@4000").ok)
            let discharged = try await c.request("DISCHARGE d trace=R-6 admission=\(admission) card=\(card) pin=470291")
            #expect(discharged.ok, "\(discharged)")
        }
        try await engine.withTerminal("O001-01") { c in
            #expect(try await c.request("REPORTLOST l card=\(card) id_no=\(idNo)").ok)
            let replaced = try await c.request("REPLACE r card=\(card) id_no=\(idNo) reason=lost")
            #expect(replaced.ok, "\(replaced)")
        }

        // What the application role may not do.
        let appConnection = try PGConnection(conninfo: appURL)
        for forbidden in ["UPDATE terminal SET enabled = false", "UPDATE institution SET name = 'x'",
                          "INSERT INTO catalog_version (effective, items) VALUES (current_date, 0)",
                          "INSERT INTO policy_version (effective, rows, benefits) VALUES (current_date, 0, 0)",
                          "INSERT INTO benefit_entry SELECT * FROM benefit_entry", "DELETE FROM settlement", "DELETE FROM trace",
                          "SELECT * FROM schema_migrations", "CREATE TABLE intruder (x int)"] {
            let error = #expect(throws: PGError.self, "\(forbidden)") { try appConnection.execute(forbidden) }
            #expect(error?.sqlState == "42501", "\(forbidden): \(String(describing: error))")
        }

        // A later migration's tables: usable at once by default privileges; a reference table
        // (by its name) is made read-only by running the grants again.
        try ownerConnection.execute("CREATE TABLE later_events (id bigint GENERATED ALWAYS AS IDENTITY, x int); CREATE TABLE catalog_later (x int)")
        try appConnection.execute("INSERT INTO later_events (x) VALUES (1); SELECT * FROM catalog_later")
        try ownerConnection.execute(grants)
        #expect(throws: PGError.self) { try appConnection.execute("INSERT INTO catalog_later VALUES (1)") }
        try appConnection.execute("INSERT INTO later_events (x) VALUES (2)")

        await engine.stop()
        _ = consume appConnection
        _ = consume ownerConnection
        try admin.execute("DROP DATABASE \(database) WITH (FORCE)")
        try admin.execute("DROP ROLE \(app); DROP ROLE \(owner)")
    }
}
