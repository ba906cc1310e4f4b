import ArgumentParser
import MedsettleStore

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the schema migrations (safe to re-run), optionally loading the shipped data set.",
        discussion: """
            --reference-data loads institutions, terminals (keys sealed under the server secret), the catalog \
            and the policy table from the data set shipped in the binary; --demo-people also enrols the demo \
            cardholders. Existing rows are never overwritten.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var secret: SecretOptions

    @Flag(help: "Load the shipped institutions, terminals, catalog and policy.")
    var referenceData = false

    @Flag(help: "Also enrol the demo people (implies --reference-data).")
    var demoPeople = false

    func run() throws {
        let url = try database.resolvedURL()
        let secrets = try secret.load()
        let applied = try DatabaseSetup.prepare(conninfo: url, secrets: secrets,
                                                loadReferenceData: referenceData || demoPeople, demoPeople: demoPeople)
        print(applied.isEmpty ? "schema is up to date" : "applied: " + applied.joined(separator: ", "))
    }
}
