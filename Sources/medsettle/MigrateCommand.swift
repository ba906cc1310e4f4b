import ArgumentParser
import MedsettleConfig
import MedsettleStore
import PGClient

struct MigrateCommand: ParsableCommand, SettingsCommand {
    static let settingScope: SettingScope = [.database, .secret, .migration]
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the schema migrations (the schema only; safe to re-run, and on a live database).",
        discussion: discussion("""
            Loads no data: institutions, terminals, the catalog and the policy are the operator's to import \
            (docs/OPERATIONS.md). Each migration waits at most --migration-lock-timeout for a lock; one that \
            gives up is not applied at all, and migrate exits 1 saying so (retry later). An applied migration \
            whose file has changed since (its SHA-256 is recorded) stops migrate before it applies anything. \
            --status lists every migration, one `migration=NAME state=applied|pending|changed|unknown \
            [applied_at=UTC]` line each, applies nothing, and exits 0 whatever the states. --app-role NAME \
            then grants that role what serving needs and nothing more (docs/OPERATIONS.md §9): run migrate \
            as the schema's owner.
            """, settings: settingScope)
    )

    @Flag(help: "List applied and pending migrations and apply nothing.")
    var status = false

    @Option(help: ArgumentHelp("After migrating, grant this role what `serve` needs (read-only reference data).", valueName: "role"))
    var appRole: String?

    func run() throws {
        let settings = try resolvedSettings()
        let url = try usable { try requiredDatabaseURL(settings) }
        let lockTimeout = try usable { try settings.integer("migration-lock-timeout", in: 1...3_600) }
        let connection = try PGConnection(conninfo: url)
        if status {
            for entry in try Migrator.status(connection) {
                print("migration=\(entry.name) state=\(entry.state.rawValue)" + (entry.appliedAt.map { " applied_at=\($0)" } ?? ""))
            }
            return
        }
        let applied = try Migrator.migrate(connection, lockTimeoutMilliseconds: lockTimeout * 1000)
        print(applied.isEmpty ? "schema is up to date" : "applied: " + applied.joined(separator: ", "))
        if let appRole {
            try Migrator.grantApplicationRole(connection, role: appRole)
            print("granted: \(appRole)")
        }
    }
}
