import Foundation
import MedsettleCore
import PGClient
import Testing

/// ADMIN.md "Setting up" and "Catalog and policy versions", through the built `medsettle` as an
/// operator runs it against a database with the demo data set (catalog and policy version 1): the
/// printed lines, the exit codes, what each refusal names, and that a refused command changes nothing.
@Suite(.timeLimit(.minutes(3)))
struct ReferenceImportTests {
    /// A fresh database, the command's environment, and a folder for the files.
    struct Setup {
        let conninfo: String
        let environment: [String: String]
        let folder: URL

        init() throws {
            conninfo = try TestDatabaseServer.shared.freshDatabase()
            environment = ["DATABASE_URL": conninfo, "MEDSETTLE_SECRET": TestDatabaseServer.secretHex, "PATH": "/usr/bin:/bin"]
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("medsettle-import-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }

        func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
            try ServeProcessTests.run(arguments, environment: environment)
        }

        /// Writes `bytes` to a file of the folder and returns its path.
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let url = folder.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            return url.path
        }

        func file(_ name: String, _ text: String) throws -> String { try file(name, Array(text.utf8)) }

        func scalar(_ sql: String) throws -> Int64? {
            try PGConnection(conninfo: conninfo).query(sql, []).int64(0, 0)
        }

        func text(_ sql: String) throws -> String? {
            try PGConnection(conninfo: conninfo).query(sql, []).string(0, 0)
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }
    }

    static let seedFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sql/seed").standardized

    static func seed(_ name: String) throws -> String {
        try String(contentsOf: seedFolder.appendingPathComponent(name), encoding: .utf8)
    }

    static var today: BusinessDate { BusinessDate(unixSeconds: Int64(Date().timeIntervalSince1970)) }
    /// Tomorrow, so that a run across midnight cannot make the date a past one.
    static var tomorrow: String { today.next.yyyymmdd }
    static var yesterday: String { BusinessDate(daysSinceEpoch: today.daysSinceEpoch - 1).yyyymmdd }

    @Test func catalogImportVersionsAndRefusals() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let date = Self.tomorrow

        // Quoted commas and doubled quotes, a byte-order mark, CRLF line ends, columns in another order.
        let good = try setup.file("catalog.csv", "\u{FEFF}name,code,class,unit,price_limit_fen,first_selfpay_bp,traced\r\n"
            + "\"阿莫西林胶囊, 24粒 \"\"新\"\"\",A001,A,盒,1600,0,0\r\n"
            + "阿托伐他汀钙片,B001,B,盒,3500,1000,1\r\n"
            + "维生素C泡腾片,C001,C,盒,0,0,0\r\n")
        let first = try setup.run(["catalog", "import", good, "--effective", date])
        #expect(first.status == 0, "\(first.error)")
        #expect(first.output == "version=2 effective=\(date) items=3\n")
        #expect(try setup.text("SELECT name FROM catalog_entry WHERE version = 2 AND code = 'A001'") == #"阿莫西林胶囊, 24粒 "新""#)
        #expect(try setup.scalar("SELECT count(*) FROM catalog_entry WHERE version = 2 AND traced") == 1)

        // The same date again: a new version number, both listed.
        let second = try setup.run(["catalog", "import", good, "--effective", date])
        #expect(second.status == 0 && second.output == "version=3 effective=\(date) items=3\n", "\(second)")
        let listed = try setup.run(["catalog", "versions"])
        #expect(listed.status == 0)
        let lines = listed.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(listed.output)")
        #expect(lines.first?.hasPrefix("version=1 effective=20000101 items=20 imported_at=") == true, "\(listed.output)")
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("version=") && $0.contains(" effective=\(date) items=3 imported_at=") },
                "\(listed.output)")
        #expect(lines.last?.hasPrefix("version=3 ") == true)
        let json = try setup.run(["catalog", "versions", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["version"] as? Int } == [1, 2, 3])
        #expect(entries.last?["effective"] as? String == date && entries.last?["items"] as? Int == 3)

        // Refusals: non-zero, the message names the file and line, no version made.
        let header = "code,name,class,unit,price_limit_fen,first_selfpay_bp\n"
        let refused: [(arguments: [String], words: String)] = [
            (["catalog", "import", good, "--effective", Self.yesterday], "before today's business date"),
            (["catalog", "import", good, "--effective", "20270230"], "--effective must be a date"),
            (["catalog", "import", try setup.file("class.csv", header + "A001,x,A,盒,0,0\nA002,x,D,盒,0,0\n"), "--effective", date],
             "class.csv:3: class `D`"),
            (["catalog", "import", try setup.file("dup.csv", header + "A001,x,A,盒,0,0\nA001,y,A,盒,0,0\n"), "--effective", date],
             "dup.csv:3: duplicate code `A001`"),
            (["catalog", "import", try setup.file("bp.csv", header + "A001,x,A,盒,0,500\n"), "--effective", date],
             "bp.csv:2: first_selfpay_bp must be 0 for class A"),
            (["catalog", "import", try setup.file("unknown.csv", "code,name,class,unit,price_limit_fen,first_selfpay_bp,colour\n"
                                                  + "A001,x,A,盒,0,0,red\n"), "--effective", date], "unknown.csv:1: unknown column `colour`"),
            (["catalog", "import", try setup.file("missing.csv", "code,name,class,unit,price_limit_fen\nA001,x,A,盒,0\n"),
              "--effective", date], "missing.csv:1: missing column `first_selfpay_bp`"),
            (["catalog", "import", try setup.file("empty.csv", header), "--effective", date], "empty.csv:1: the catalog has no items"),
            (["catalog", "import", try setup.file("gbk.csv", Array(header.utf8) + Array("A001,".utf8) + [0xB0, 0xA2, 0xC4, 0xAA] + Array(",A,x,0,0\n".utf8)),
              "--effective", date], "gbk.csv:2: the file is not valid UTF-8"),
            (["catalog", "import", setup.folder.appendingPathComponent("nowhere.csv").path, "--effective", date], "cannot read"),
        ]
        for (arguments, words) in refused {
            let result = try setup.run(arguments)
            #expect(result.status != 0 && result.output.isEmpty, "\(arguments): \(result)")
            #expect(result.error.contains(words), "\(arguments): \(result.error)")
        }
        #expect(try setup.scalar("SELECT count(*) FROM catalog_version") == 3)
    }

    @Test func policyImportVersionsAndRefusals() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let date = Self.tomorrow
        let policyText = try Self.seed("policy.csv"), benefitText = try Self.seed("benefits.csv")
        let policy = try setup.file("policy.csv", policyText), benefits = try setup.file("benefits.csv", benefitText)

        let first = try setup.run(["policy", "import", "--policy", policy, "--benefits", benefits, "--effective", date])
        #expect(first.status == 0, "\(first.error)")
        #expect(first.output == "version=2 effective=\(date) rows=21 benefits=3\n")
        let second = try setup.run(["policy", "import", "--policy", policy, "--benefits", benefits, "--effective", date])
        #expect(second.output == "version=3 effective=\(date) rows=21 benefits=3\n", "\(second)")
        let listed = try setup.run(["policy", "versions"])
        let lines = listed.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3 && lines[0].hasPrefix("version=1 effective=20000101 rows=21 benefits=3 imported_at="), "\(listed.output)")
        #expect(lines[1].hasPrefix("version=2 effective=\(date) rows=21 benefits=3 imported_at=") && lines[2].hasPrefix("version=3 "),
                "\(listed.output)")
        let json = try setup.run(["policy", "versions", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["rows"] as? Int } == [21, 21, 21] && entries.map { $0["benefits"] as? Int } == [3, 3, 3])

        var policyLines = policyText.split(separator: "\n").map(String.init)
        let withoutRow = try setup.file("short.csv", policyLines.filter { $0 != "retiree,inpatient,2,60000,admission,9000,40000000,0" }
            .joined(separator: "\n") + "\n")
        let duplicated = try setup.file("dup.csv", (policyLines + [policyLines[3]]).joined(separator: "\n") + "\n")
        policyLines[5] = "employee,outpatient,2,20000,year,10001,300000,0"
        let badRatio = try setup.file("ratio.csv", policyLines.joined(separator: "\n") + "\n")
        let badScope = try setup.file("scope.csv", policyText.replacingOccurrences(of: "employee,inpatient,1,30000,admission",
                                                                                   with: "employee,inpatient,1,30000,stay"))
        let twoBenefits = try setup.file("two.csv", benefitText.split(separator: "\n").dropLast().joined(separator: "\n") + "\n")
        let renamed = try setup.file("renamed.csv", benefitText.replacingOccurrences(of: "assist_ceiling_fen", with: "assist_cap_fen"))
        func importing(_ policy: String, _ benefits: String, _ effective: String = date) -> [String] {
            ["policy", "import", "--policy", policy, "--benefits", benefits, "--effective", effective]
        }
        let refused: [(arguments: [String], words: String)] = [
            (importing(policy, benefits, Self.yesterday), "before today's business date"),
            (importing(policy, benefits, "2027011"), "--effective must be a date"),
            (importing(withoutRow, benefits), "short.csv:21: missing the row for retiree,inpatient,2"),
            (importing(duplicated, benefits), "dup.csv:23: duplicate row for resident,pharmacy,0 (first on line 4)"),
            (importing(badRatio, benefits), "ratio.csv:6: fund_ratio_bp `10001`"),
            (importing(badScope, benefits), "scope.csv:14: deductible_scope `stay` must be one of year/admission"),
            (importing(policy, twoBenefits), "two.csv:3: missing the row for resident"),
            (importing(policy, renamed), "renamed.csv:1: unknown column `assist_cap_fen`"),
        ]
        for (arguments, words) in refused {
            let result = try setup.run(arguments)
            #expect(result.status != 0 && result.output.isEmpty, "\(arguments): \(result)")
            #expect(result.error.contains(words), "\(arguments): \(result.error)")
        }
        #expect(try setup.scalar("SELECT count(*) FROM policy_version") == 3)
        #expect(try setup.scalar("SELECT count(*) FROM policy_entry") == 63)
    }

    @Test func institutionImportAddsUpdatesAndRefusesAKindChange() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let file = try setup.file("institutions.csv", "\u{FEFF}kind,level,code,name\r\n"
            + "hospital,2,H009,\"示范市第九人民医院, 东院\"\r\n" // new
            + "hospital,2,H001,示范市第一人民医院(新院区)\r\n"  // renamed, level 3 → 2
            + "pharmacy,0,P001,示范大众大药房黄河大道店\r\n")     // as it is
        let imported = try setup.run(["institution", "import", file])
        #expect(imported.status == 0, "\(imported.error)")
        #expect(imported.output == "institutions=3 added=1 updated=1 unchanged=1\n")
        #expect(try setup.text("SELECT name FROM institution WHERE code = 'H009'") == "示范市第九人民医院, 东院")
        #expect(try setup.scalar("SELECT level FROM institution WHERE code = 'H001'") == 2)
        // Again: nothing to change.
        #expect(try setup.run(["institution", "import", file]).output == "institutions=3 added=0 updated=0 unchanged=3\n")
        // The new institution takes terminals.
        let terminal = try setup.run(["terminal", "add", "--institution", "H009"])
        #expect(terminal.status == 0 && terminal.output.hasPrefix("terminal=H009-01 key="), "\(terminal)")

        let count = try setup.scalar("SELECT count(*) FROM institution")
        let refused: [(file: String, words: String)] = [
            (try setup.file("kind.csv", "code,name,kind,level\nH010,新医院,hospital,1\nP001,药店,hospital,1\n"),
             "institution P001 is a pharmacy; an import cannot make it a hospital"),
            (try setup.file("level.csv", "code,name,kind,level\nH010,新医院,hospital,1\nP003,药店,pharmacy,2\n"),
             "level.csv:3: level 2 does not fit kind pharmacy"),
            (try setup.file("dup.csv", "code,name,kind,level\nH010,新医院,hospital,1\nH010,新医院,hospital,1\n"),
             "dup.csv:3: duplicate code `H010`"),
            (try setup.file("columns.csv", "code,name,kind\nH010,新医院,hospital\n"), "columns.csv:1: missing column `level`"),
        ]
        for (file, words) in refused {
            let result = try setup.run(["institution", "import", file])
            #expect(result.status != 0 && result.output.isEmpty, "\(file): \(result)")
            #expect(result.error.contains(words), "\(file): \(result.error)")
        }
        #expect(try setup.scalar("SELECT count(*) FROM institution") == count)
        #expect(try setup.scalar("SELECT count(*) FROM institution WHERE code = 'H010'") == 0)
    }
}
