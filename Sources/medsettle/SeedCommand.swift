import LoadData
import ArgumentParser
import Foundation
import MedsettleConfig
import MedsettleStore
import PGClient

struct SeedCommand: ParsableCommand, SettingsCommand {
    static let settingScope: SettingScope = [.database, .secret]
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Generate a load-test population: people with ACTIVE cards and credited accounts, families, pharmacy and hospital terminals and an online terminal.",
        discussion: discussion("""
            It first migrates the database if needed and loads the demo data set (institutions, the demo \
            terminals with their published keys, catalog, policy), which the load tests use. \
            People 1…N get cards L00000001…, PIN \(LoadTestData.pin) and \(LoadTestData.credit) fen each, but every \
            twentieth, a resident without an account bound as a family member to the person before; terminals \
            LOAD-P0001…, LOAD-H0001… and the online terminal LOAD-O0001 (for QR codes) get keys derived from their ids \
            (see loadtest/README.md). For load tests only: never run it against a production database \
            (`serve` refuses such a database without --demo-database). Re-running tops the population up to N.
            """, settings: settingScope)
    )

    @Option(help: "People to have in all.")
    var people: Int = 100_000

    @Option(help: "Generated pharmacy terminals (and as many hospital terminals).")
    var terminals: Int = 256

    @Option(help: "Past settlements to have in all (paid in cash, one line each), to test a grown database.")
    var history: Int = 0

    func validate() throws {
        guard (1...99_999_999).contains(people) else { throw ValidationError("--people must be 1-99999999") }
        guard (1...9_999).contains(terminals) else { throw ValidationError("--terminals must be 1-9999") }
        guard (0...100_000_000).contains(history) else { throw ValidationError("--history must be 0-100000000") }
    }

    func run() throws {
        let settings = try resolvedSettings()
        let url = try usable { try requiredDatabaseURL(settings) }
        let secrets = try ServerSecretSetting(settings: settings).loadWarning()
        try DatabaseSetup.prepare(conninfo: url, secrets: secrets, loadReferenceData: true, demoPeople: false)
        let connection = try PGConnection(conninfo: url)
        let started = Date()
        try LoadSeeder.loadTerminals(connection, secrets: secrets, count: terminals)
        let added = try LoadSeeder.loadPeople(connection, secrets: secrets, count: people)
        print("seeded \(added) people (\(people) in all) and \(terminals) terminals in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        if history > 0 {
            let began = Date()
            let settled = try LoadSeeder.loadHistory(connection, count: history) { done in
                print("history: \(done) of \(history) settlements")
            }
            print("added \(settled) past settlements (\(history) in all) in \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
        }
    }
}
