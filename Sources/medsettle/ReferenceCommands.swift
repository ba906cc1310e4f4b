import ArgumentParser
import Foundation
import MedsettleConfig
import MedsettleCore
import MedsettleStore
import PGClient
import ReferenceFiles

/// ADMIN.md "Setting up" and "Catalog and policy versions": the operator's reference data. Each
/// command reads its files completely (UTF-8, RFC 4180 CSV, every row checked) before it opens the
/// database, so a refused file changes nothing; the import itself is one transaction.
enum ReferenceCommands {
    /// The database as `serve` reaches it. (The secret's settings are accepted like every
    /// administration command's, but none of these needs the secret itself.)
    static func administration<Command: SettingsCommand>(_ command: Command) throws -> ReferenceAdministration {
        let settings = try command.resolvedSettings()
        let url = try usable { try requiredDatabaseURL(settings) }
        return ReferenceAdministration(connection: try PGConnection(conninfo: url))
    }

    /// A file's text; the error names the file, and the line of a byte that is not UTF-8.
    static func read(_ path: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Failure("cannot read \(path): \(error.localizedDescription)")
        }
        return try UTF8Text.decode([UInt8](data), file: path)
    }

    /// `--effective`: a real date; with today's business date (Asia/Shanghai) by this host's
    /// clock, which the import checks it against, and against the database server's clock.
    static func effective(_ text: String) throws -> (effective: BusinessDate, today: BusinessDate) {
        guard let effective = BusinessDate(yyyymmdd: text) else {
            throw ValidationError("--effective must be a date as YYYYMMDD, e.g. 20270101; got `\(text)`")
        }
        return (effective, BusinessDate(unixSeconds: SystemClock().now()))
    }

    /// `catalog versions` / `policy versions`: one `key=value …` line per version, or a JSON array.
    static func printVersions(_ versions: [VersionListing], policy: Bool, json: Bool) throws {
        if json {
            struct Entry: Encodable {
                let version: Int, effective: String, items: Int?, rows: Int?, benefits: Int?, importedAt: String
                enum CodingKeys: String, CodingKey {
                    case version, effective, items, rows, benefits, importedAt = "imported_at"
                }
            }
            let entries = versions.map {
                Entry(version: $0.version, effective: $0.effective.yyyymmdd, items: policy ? nil : $0.rows,
                      rows: policy ? $0.rows : nil, benefits: policy ? $0.benefits : nil, importedAt: $0.importedAt)
            }
            try JSONOutput.print(entries)
            return
        }
        for v in versions {
            let counts = policy ? "rows=\(v.rows) benefits=\(v.benefits)" : "items=\(v.rows)"
            print("version=\(v.version) effective=\(v.effective.yyyymmdd) \(counts) imported_at=\(v.importedAt)")
        }
    }

    /// A refusal that is not a usage error: the message on standard error, exit 1.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// `institution import FILE`.
struct InstitutionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "institution",
        abstract: "Import institutions: add new ones, update the name and level of known ones.",
        subcommands: [Import.self]
    )

    struct Import: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle institution import"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Add the file's institutions; update the name and level of known ones; never delete.",
            discussion: discussion("""
                FILE is UTF-8 CSV with the columns code,name,kind,level (any order). A row that would change \
                an institution's kind refuses the whole file. Prints institutions=N added=A updated=U unchanged=C.
                """, settings: settingScope))

        @Argument(help: "The institutions file (CSV).")
        var file: String

        func run() throws {
            let institutions = try InstitutionFile.institutions(try ReferenceCommands.read(file), file: file)
            let done = try ReferenceCommands.administration(self).importInstitutions(institutions)
            print("institutions=\(institutions.count) added=\(done.added) updated=\(done.updated) unchanged=\(done.unchanged)")
        }
    }
}

/// `catalog import FILE --effective YYYYMMDD`, `catalog versions`.
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Import a new catalog version, list the versions.",
        subcommands: [Import.self, Versions.self]
    )

    struct Import: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle catalog import"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import the whole catalog as a new version in force from the effective date.",
            discussion: discussion("""
                FILE is UTF-8 CSV with the columns code,name,class,unit,price_limit_fen,first_selfpay_bp and \
                optionally traced (any order). The effective date must not be before today's business date. \
                Prints version=N effective=YYYYMMDD items=K.
                """, settings: settingScope))

        @Argument(help: "The catalog file (CSV).")
        var file: String

        @Option(help: "The business date (YYYYMMDD, Asia/Shanghai) from which the version is in force.")
        var effective: String

        func run() throws {
            let (effective, today) = try ReferenceCommands.effective(self.effective)
            let items = try CatalogFile.items(try ReferenceCommands.read(file), file: file)
            let made = try ReferenceCommands.administration(self).importCatalog(items, effective: effective, today: today)
            print("version=\(made.version) effective=\(made.effective.yyyymmdd) items=\(made.rows)")
        }
    }

    struct Versions: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle catalog versions"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            abstract: "List the catalog versions.",
            discussion: discussion("One line per version: version=N effective=YYYYMMDD items=K imported_at=YYYY-MM-DDTHH:MM:SS "
                                   + "(Asia/Shanghai).", settings: settingScope))

        @Flag(help: "Print JSON instead of lines.")
        var json = false

        func run() throws {
            try ReferenceCommands.printVersions(try ReferenceCommands.administration(self).catalogVersions(), policy: false, json: json)
        }
    }
}

/// `policy import --policy FILE --benefits FILE --effective YYYYMMDD`, `policy versions`.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Import a new policy version (policy and benefit tables), list the versions.",
        subcommands: [Import.self, Versions.self]
    )

    struct Import: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle policy import"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import the policy table and the benefit table as a new version in force from the effective date.",
            discussion: discussion("""
                The policy file has one row per insurance type, visit type and level (21 rows); the benefits \
                file one row per insurance type (3 rows); both UTF-8 CSV with the columns of the demo's \
                policy.csv and benefits.csv (any order). The effective date must not be before today's \
                business date. Prints version=N effective=YYYYMMDD rows=K benefits=M.
                """, settings: settingScope))

        @Option(help: "The policy table (CSV).")
        var policy: String

        @Option(help: "The benefit table (CSV).")
        var benefits: String

        @Option(help: "The business date (YYYYMMDD, Asia/Shanghai) from which the version is in force.")
        var effective: String

        func run() throws {
            let (effective, today) = try ReferenceCommands.effective(self.effective)
            let (policies, benefitRows) = try PolicyFile.parse(policy: try ReferenceCommands.read(policy),
                                                               benefits: try ReferenceCommands.read(benefits),
                                                               policyFile: policy, benefitFile: benefits)
            let made = try ReferenceCommands.administration(self).importPolicy(policies, benefits: benefitRows,
                                                                               effective: effective, today: today)
            print("version=\(made.version) effective=\(made.effective.yyyymmdd) rows=\(made.rows) benefits=\(made.benefits)")
        }
    }

    struct Versions: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle policy versions"
        static let settingScope: SettingScope = [.database, .secret]
        static let configuration = CommandConfiguration(
            abstract: "List the policy versions.",
            discussion: discussion("One line per version: version=N effective=YYYYMMDD rows=K benefits=M "
                                   + "imported_at=YYYY-MM-DDTHH:MM:SS (Asia/Shanghai).", settings: settingScope))

        @Flag(help: "Print JSON instead of lines.")
        var json = false

        func run() throws {
            try ReferenceCommands.printVersions(try ReferenceCommands.administration(self).policyVersions(), policy: true, json: json)
        }
    }
}
