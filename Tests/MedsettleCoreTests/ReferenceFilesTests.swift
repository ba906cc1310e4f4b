import Testing
import MedsettleCore
@testable import ReferenceFiles

/// The operator's reference files (ADMIN.md "Catalog and policy versions"): RFC 4180 CSV read by
/// column name, every rule, and the file line each refusal names.
@Suite("Reference files")
struct ReferenceFilesTests {
    static let catalogHeader = "code,name,class,unit,price_limit_fen,first_selfpay_bp"
    static let benefitsCSV = """
        insurance,illness_threshold_fen,illness_ratio_bp,illness_ceiling_fen,assist_ratio_bp,assist_ceiling_fen
        employee,2000000,8000,50000000,7000,5000000
        retiree,2000000,8500,50000000,7000,5000000
        resident,1500000,6000,40000000,7000,5000000

        """

    /// The error `body` throws, which must be a `ReferenceFileError`.
    static func refusal(_ body: () throws -> Void) -> ReferenceFileError? {
        do {
            try body()
            Issue.record("expected the file to be refused")
        } catch let error as ReferenceFileError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return nil
    }

    // MARK: CSV

    @Test func quotedFieldsHoldCommasAndDoubledQuotes() throws {
        let text = Self.catalogHeader + "\n" + #"A001,"阿莫西林胶囊 0.25g×24粒, ""特装""",A,"盒",1500,0"# + "\n"
        let items = try CatalogFile.items(text)
        #expect(items == [CatalogItem(code: "A001", name: #"阿莫西林胶囊 0.25g×24粒, "特装""#, itemClass: .a, unit: "盒",
                                      priceLimit: 1500, firstSelfPayBP: 0)])
    }

    @Test func recordsKnowTheLineTheyStartOn() throws {
        let table = try CSVTable("a,b\n\"one\ntwo\",1\r\n\r\n\"x\r\ny\rz\",2\n3,4", file: "t.csv", required: ["a", "b"])
        #expect(table.records.map(\.line) == [2, 5, 8])
        #expect(table.records.map(\.fields) == [["one\ntwo", "1"], ["x\r\ny\rz", "2"], ["3", "4"]])
    }

    @Test func aLineBreakInANameIsRefusedOnTheLineItsRecordStarts() {
        let text = Self.catalogHeader + "\nA001,x,A,盒,0,0\nA002,\"两行\r\n的名字\",A,盒,0,0\nA003,x,D,盒,0,0\n"
        let error = Self.refusal { _ = try CatalogFile.items(text) }
        #expect(error?.line == 3 && error?.message.contains("line breaks") == true, "\(String(describing: error))")
    }

    @Test func byteOrderMarkAndCRLFAreAccepted() throws {
        let text = "\u{FEFF}code,name,kind,level\r\nH001,医院,hospital,3\r\nP001,\"药店, 一号\",pharmacy,0\r\n"
        #expect(try InstitutionFile.institutions(text) == [
            InstitutionRecord(code: "H001", name: "医院", kind: .hospital, level: 3),
            InstitutionRecord(code: "P001", name: "药店, 一号", kind: .pharmacy, level: 0),
        ])
        let bad = Self.refusal { _ = try InstitutionFile.institutions("\u{FEFF}code,name,kind,level\r\nH001,医院,hospital,3\r\nH002,x,hospital,0\r\n") }
        #expect(bad?.line == 3)
    }

    @Test func columnsAreFoundByNameInAnyOrder() throws {
        let text = "traced,first_selfpay_bp,price_limit_fen,unit,class,name,code\n1,1000,3500,盒,B,阿托伐他汀钙片,B001\n0,0,0,瓶,C,x,C001\n"
        let items = try CatalogFile.items(text)
        #expect(items == [
            CatalogItem(code: "B001", name: "阿托伐他汀钙片", itemClass: .b, unit: "盒", priceLimit: 3500, firstSelfPayBP: 1000, traced: true),
            CatalogItem(code: "C001", name: "x", itemClass: .c, unit: "瓶", priceLimit: 0, firstSelfPayBP: 0, traced: false),
        ])
        let policies = try PolicyFile.policies(Self.reordered(Fixtures.policyCSV))
        #expect(Set(policies) == Set(Fixtures.reference.policies.values))
        #expect(try PolicyFile.benefits(Self.reordered(Self.benefitsCSV)).count == 3)
    }

    /// The same table with its columns in reverse order.
    static func reordered(_ text: String) -> String {
        text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).reversed().joined(separator: ",") }
            .joined(separator: "\n") + "\n"
    }

    @Test func tracedIsOptionalAndDefaultsToZero() throws {
        let items = try CatalogFile.items(Self.catalogHeader + "\nA001,x,A,盒,0,0\n")
        #expect(items.first?.traced == false)
        #expect(try CatalogFile.items(Self.catalogHeader + ",traced\nA001,x,A,盒,0,0,1\n").first?.traced == true)
    }

    @Test(arguments: [
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp,colour\nA001,x,A,盒,0,0,red\n", "unknown column `colour`"),
        ("code,name,class,unit,price_limit_fen\nA001,x,A,盒,0\n", "missing column `first_selfpay_bp`"),
        ("code,name,unit,price_limit_fen\nA001,x,盒,0\n", "missing columns `class`, `first_selfpay_bp`"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp,code\nA001,x,A,盒,0,0,A002\n", "column `code` appears twice"),
        ("CODE,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,x,A,盒,0,0\n", "unknown column `CODE`"),
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        (catalogHeader + "\n", "no items"),
    ] as [(String, String)])
    func headerRefusals(text: String, words: String) {
        let error = Self.refusal { _ = try CatalogFile.items(text, file: "new-catalog.csv") }
        #expect(error?.file == "new-catalog.csv")
        #expect(error?.line == 1)
        #expect(error?.message.contains(words) == true, "\(String(describing: error))")
    }

    // MARK: Catalog rules

    // Each malformed catalog, the line its refusal names and words it must hold.
    @Test(arguments: [
        ("A001,x,A,盒,1500\n", 2, "expected 6 fields, found 5"),
        ("A001,x,A,盒,1500,0,9\n", 2, "found 7"),
        ("A001,\"x,A,盒,1500,0\nA002,x,A,盒,0,0\n", 2, "found 2"), // an unclosed quote runs to the end
        ("A001,x,D,盒,1500,0\n", 2, "class `D` must be one of A/B/C"),
        ("A001,x,a,盒,1500,0\n", 2, "class `a`"),
        ("A001,x,A,盒,-1,0\n", 2, "price_limit_fen `-1`"),
        ("A001,x,A,盒,1 500,0\n", 2, "price_limit_fen"),
        ("A001,x,A,盒,15.00,0\n", 2, "price_limit_fen"),
        ("A001,x,A,盒,,0\n", 2, "price_limit_fen"),
        ("A001,x,A,盒,\(Pricing.maxPrice + 1),0\n", 2, "price_limit_fen"),
        ("B001,x,B,盒,0,10001\n", 2, "first_selfpay_bp `10001`"),
        ("A001,x,A,盒,0,500\n", 2, "must be 0 for class A"),
        ("C001,x,C,盒,0,1\n", 2, "must be 0 for class C"),
        ("A001,x,A,盒,0,0\nA002,y,A,盒,0,0\nA001,z,A,盒,0,0\n", 4, "duplicate code `A001` (first on line 2)"),
        ("A 01,x,A,盒,0,0\n", 2, "code `A 01` must be 1–20 of A-Z 0-9"),
        ("a001,x,A,盒,0,0\n", 2, "code `a001`"),
        ("A-01,x,A,盒,0,0\n", 2, "code `A-01`"),
        ("ABCDEFGHIJKLMNOPQRSTU,x,A,盒,0,0\n", 2, "code"),
        (",x,A,盒,0,0\n", 2, "code"),
        ("A001,,A,盒,0,0\n", 2, "name must be 1–100 characters"),
        ("A001,\(String(repeating: "药", count: 101)),A,盒,0,0\n", 2, "name must be 1–100 characters, found 101"),
        ("A001, x,A,盒,0,0\n", 2, "must not begin or end with a space"),
        ("A001,x\u{7}y,A,盒,0,0\n", 2, "control characters"),
        ("A001,x,A,,0,0\n", 2, "unit must be 1–10 characters"),
        ("A001,x,A,\(String(repeating: "e\u{301}", count: 6)),0,0\n", 2, "unit must be 1–10 characters, found 12"),
    ] as [(String, Int, String)])
    func malformedCatalog(rows: String, line: Int, words: String) {
        let error = Self.refusal { _ = try CatalogFile.items(Self.catalogHeader + "\n" + rows) }
        #expect(error?.file == "catalog.csv")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.message.contains(words) == true, "\(String(describing: error))")
    }

    @Test func tracedMustBeZeroOrOne() {
        let error = Self.refusal { _ = try CatalogFile.items(Self.catalogHeader + ",traced\nA001,x,A,盒,0,0,0\nA002,x,A,盒,0,0,yes\n") }
        #expect(error?.line == 3 && error?.message.contains("traced `yes` must be 0 or 1") == true)
    }

    @Test func limitsAreInclusive() throws {
        let text = Self.catalogHeader + "\n"
            + "\(String(repeating: "Z", count: 20)),\(String(repeating: "药", count: 100)),B,\(String(repeating: "e\u{301}", count: 5)),\(Pricing.maxPrice),10000\n"
        let item = try #require(try CatalogFile.items(text).first)
        #expect(item.code.count == 20 && item.name.unicodeScalars.count == 100 && item.unit.unicodeScalars.count == 10)
        #expect(item.priceLimit == Pricing.maxPrice && item.firstSelfPayBP == 10_000)
    }

    // MARK: Policy and benefits

    @Test func theFixturePolicyAndBenefitsAreComplete() throws {
        let (policies, benefits) = try PolicyFile.parse(policy: Fixtures.policyCSV, benefits: Self.benefitsCSV)
        #expect(policies.count == 21 && benefits.count == 3)
        #expect(Set(policies.map(\.key)) == Set(PolicyFile.allKeys))
        #expect(benefits.first { $0.insurance == .retiree } == Benefit(insurance: .retiree, illnessThreshold: 2_000_000, illnessRatioBP: 8500,
                                                                       illnessCeiling: 50_000_000, assistRatioBP: 7000, assistCeiling: 5_000_000))
    }

    /// The fixture policy with its line `line` (2 = the first row) replaced by `row`, or dropped when nil.
    static func policy(line: Int, _ row: String?) -> String {
        var lines = Fixtures.policyCSV.split(separator: "\n").map(String.init)
        if let row { lines[line - 1] = row } else { lines.remove(at: line - 1) }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test(arguments: [
        ("employee,pharmacy,1,0,year,0,0,0", "level 1 does not fit visit type pharmacy"),
        ("employee,outpatient,0,0,year,0,0,0", "level 0 does not fit"),
        ("employee,outpatient,4,0,year,0,0,0", "level `4`"),
        ("worker,pharmacy,0,0,year,0,0,0", "insurance `worker`"),
        ("employee,clinic,0,0,year,0,0,0", "visit `clinic`"),
        ("employee,pharmacy,0,0,month,0,0,0", "deductible_scope `month` must be one of year/admission"),
        ("employee,pharmacy,0,0,year,10001,0,0", "fund_ratio_bp `10001`"),
        ("employee,pharmacy,0,0,year,0,0,2", "account_pays_full `2`"),
        ("employee,pharmacy,0,+5,year,0,0,0", "deductible_fen `+5`"),
        ("employee,pharmacy,0,0,year,0,\(Pricing.maxMoney + 1),0", "annual_ceiling_fen"),
    ] as [(String, String)])
    func malformedPolicy(row: String, words: String) {
        let error = Self.refusal { _ = try PolicyFile.policies(Self.policy(line: 2, row)) }
        #expect(error?.file == "policy.csv")
        #expect(error?.line == 2, "\(String(describing: error))")
        #expect(error?.message.contains(words) == true, "\(String(describing: error))")
    }

    @Test func aDuplicatePolicyRowNamesBothLines() {
        let error = Self.refusal { _ = try PolicyFile.policies(Self.policy(line: 2, "retiree,pharmacy,0,0,year,0,0,0")) }
        #expect(error?.line == 3 && error?.message.contains("duplicate row for retiree,pharmacy,0 (first on line 2)") == true,
                "\(String(describing: error))")
    }

    @Test func aMissingPolicyRowIsNamed() {
        let error = Self.refusal { _ = try PolicyFile.policies(Self.policy(line: 17, nil)) } // retiree,inpatient,1
        #expect(error?.message.contains("missing the row for retiree,inpatient,1") == true, "\(String(describing: error))")
        #expect(error?.line == 21) // the last line read
    }

    @Test(arguments: [
        ("employee,2000000,8000,50000000,7000,5000000\nretiree,2000000,8500,50000000,7000,5000000\n", 3, "missing the row for resident"),
        ("employee,2000000,8000,50000000,7000,5000000\nemployee,1,1,1,1,1\nretiree,2000000,8500,50000000,7000,5000000\n"
            + "resident,1500000,6000,40000000,7000,5000000\n", 3, "duplicate row for employee (first on line 2)"),
        ("employee,2000000,10001,50000000,7000,5000000\n", 2, "illness_ratio_bp `10001`"),
        ("employee,2000000,8000,50000000,-1,5000000\n", 2, "assist_ratio_bp `-1`"),
        ("employee,2000000,8000,50000000,7000,\n", 2, "assist_ceiling_fen ``"),
        ("employee,x,8000,50000000,7000,1\n", 2, "illness_threshold_fen `x`"),
        ("employee,1,8000,\(Pricing.maxMoney + 1),7000,1\n", 2, "illness_ceiling_fen"),
        ("nobody,1,1,1,1,1\n", 2, "insurance `nobody`"),
    ] as [(String, Int, String)])
    func malformedBenefits(rows: String, line: Int, words: String) {
        let header = String(Self.benefitsCSV.prefix { $0 != "\n" })
        let error = Self.refusal { _ = try PolicyFile.benefits(header + "\n" + rows, file: "b.csv") }
        #expect(error?.file == "b.csv")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.message.contains(words) == true, "\(String(describing: error))")
    }

    @Test func policyFilesNeedTheirColumns() {
        let error = Self.refusal { _ = try PolicyFile.policies(Fixtures.policyCSV.replacingOccurrences(of: ",account_pays_full", with: "")) }
        #expect(error?.line == 1 && error?.message.contains("missing column `account_pays_full`") == true)
        let unknown = Self.refusal { _ = try PolicyFile.benefits(Self.benefitsCSV.replacingOccurrences(of: "insurance,", with: "insurance_type,")) }
        #expect(unknown?.line == 1 && unknown?.message.contains("unknown column `insurance_type`") == true)
    }

    // MARK: Institutions and terminals

    @Test(arguments: [
        ("H001,医院,hospital,0", 2, "level 0 does not fit kind hospital"),
        ("P001,药店,pharmacy,1", 2, "level 1 does not fit kind pharmacy"),
        ("X001,x,clinic,0", 2, "kind `clinic`"),
        ("h001,x,hospital,1", 2, "code `h001` must be 1–16 of A-Z 0-9"),
        ("H0000000000000001,x,hospital,1", 2, "code"),
        ("H001,\(String(repeating: "院", count: 129)),hospital,1", 2, "name must be 1–128 characters"),
        ("H001,医院,hospital,3\nH001,医院,hospital,3", 3, "duplicate code `H001`"),
        ("H001,医院,hospital", 2, "expected 4 fields"),
    ] as [(String, Int, String)])
    func malformedInstitutions(rows: String, line: Int, words: String) {
        let error = Self.refusal { _ = try InstitutionFile.institutions("code,name,kind,level\n" + rows) }
        #expect(error?.file == "institutions.csv" && error?.line == line, "\(String(describing: error))")
        #expect(error?.message.contains(words) == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        ("T1,H001,00,1", "key_hex"),
        ("T1,H001,\(String(repeating: "g", count: 64)),1", "key_hex"),
        ("T1,H001,\(String(repeating: "a", count: 66)),1", "key_hex"),
        ("T1,H001,\(String(repeating: "A", count: 64)),yes", "enabled `yes`"),
        ("T1,Z999,\(String(repeating: "a", count: 64)),1", "unknown institution `Z999`"),
        ("T 1,H001,\(String(repeating: "a", count: 64)),1", "terminal `T 1`"),
        ("T1,H001,\(String(repeating: "a", count: 64)),1\nT1,H001,\(String(repeating: "b", count: 64)),1", "duplicate terminal"),
    ] as [(String, String)])
    func malformedTerminals(rows: String, words: String) {
        let error = Self.refusal { _ = try TerminalFile.terminals("terminal,institution,key_hex,enabled\n" + rows, institutions: ["H001"]) }
        #expect(error?.file == "terminals.csv")
        #expect(error?.message.contains(words) == true, "\(String(describing: error))")
    }

    // MARK: Encoding

    @Test func invalidUTF8IsRefusedNamingItsLine() throws {
        #expect(try UTF8Text.decode(Array("code\n药\n".utf8), file: "f.csv") == "code\n药\n")
        let gbk: [UInt8] = Array("code,name\nA001,".utf8) + [0xB0, 0xA2, 0xC4, 0xAA] + Array("\n".utf8) // 阿莫 in GBK
        let error = Self.refusal { _ = try UTF8Text.decode(gbk, file: "f.csv") }
        #expect(error == ReferenceFileError(file: "f.csv", line: 2, message: "the file is not valid UTF-8"))
    }

    @Test func errorDescriptionNamesFileAndLine() {
        #expect(ReferenceFileError(file: "catalog.csv", line: 7, message: "bad").description == "catalog.csv:7: bad")
    }
}
