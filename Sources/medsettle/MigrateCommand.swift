import ArgumentParser
import MedsettleConfig
import MedsettleStore

struct MigrateCommand: ParsableCommand, SettingsCommand {
    static let settingScope: SettingScope = [.database, .secret]
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the schema migrations (safe to re-run), optionally loading the shipped data set.",
        discussion: discussion("""
            --reference-data loads institutions, terminals (keys sealed under the server secret), the catalog \
            and the policy table from the data set shipped in the binary; --demo-people also enrols the demo \
            cardholders. Existing rows are never overwritten.
            """, settings: settingScope)
    )

    @Flag(help: "Load the shipped institutions, terminals, catalog and policy.")
    var referenceData = false

    @Flag(help: "Also enrol the demo people (implies --reference-data).")
    var demoPeople = false

    func run() throws {
        let settings = try resolvedSettings()
        let url = try usable { try requiredDatabaseURL(settings) }
        let secrets = try ServerSecretSetting(settings: settings).loadWarning()
        let applied = try DatabaseSetup.prepare(conninfo: url, secrets: secrets,
                                                loadReferenceData: referenceData || demoPeople, demoPeople: demoPeople)
        print(applied.isEmpty ? "schema is up to date" : "applied: " + applied.joined(separator: ", "))
    }
}
