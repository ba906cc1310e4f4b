import Testing
@testable import MedsettleCore

@Suite("Reference data CSV loaders")
struct ReferenceDataTests {
    @Test func fixtureCatalog() throws {
        let catalog = Fixtures.reference.catalog
        #expect(catalog.count == 20)
        #expect(catalog["A001"] == CatalogItem(code: "A001", name: "阿莫西林胶囊 0.25g×24粒", itemClass: .a,
                                               unit: "盒", priceLimit: 1500, firstSelfPayBP: 0))
        #expect(catalog["S006"]?.itemClass == .b && catalog["S006"]?.priceLimit == 700_000
                && catalog["S006"]?.firstSelfPayBP == 3000)
        #expect(catalog["C001"]?.itemClass == .c && catalog["C001"]?.priceLimit == 0)
        #expect(catalog["A005"]?.name == "0.9%氯化钠注射液 250ml")
    }

    @Test func fixturePolicies() throws {
        let reference = Fixtures.reference
        #expect(reference.policies.count == 21)
        let p = try #require(reference.policy(for: .employee, visit: .outpatient, level: 3))
        #expect(p.deductible == 20_000 && p.fundRatioBP == 5000 && p.annualCeiling == 300_000)
        #expect(p.deductibleScope == .year && !p.accountPaysFull)
        let inpatient = try #require(reference.policy(for: .resident, visit: .inpatient, level: 3))
        #expect(inpatient.deductible == 80_000 && inpatient.deductibleScope == .admission
                && inpatient.fundRatioBP == 6000 && inpatient.annualCeiling == 15_000_000)
        #expect(reference.policy(for: .employee, visit: .pharmacy, level: 1) == nil)
        // Every insurance × visit × valid level has a row.
        for insurance in InsuranceType.allCases {
            for visit in VisitType.allCases {
                for level in visit.levels {
                    #expect(reference.policy(for: insurance, visit: visit, level: level) != nil)
                }
            }
        }
    }

    @Test func fixtureInstitutions() throws {
        let rows = try InstitutionRecord.parse(csv: Fixtures.institutionsCSV)
        #expect(rows.count == 9)
        #expect(rows[0] == InstitutionRecord(code: "H001", name: "示范市第一人民医院", kind: .hospital, level: 3))
        #expect(rows.first { $0.code == "L001" }?.kind == .hotline)
        #expect(rows.first { $0.code == "G001" }?.kind == .agency)
    }

    @Test func fixtureTerminals() throws {
        let institutions = Set(try InstitutionRecord.parse(csv: Fixtures.institutionsCSV).map(\.code))
        let rows = try TerminalRecord.parse(csv: Fixtures.terminalsCSV, institutions: institutions)
        #expect(rows.count == 12)
        let p001 = try #require(rows.first { $0.terminal == "P001-01" })
        #expect(p001.institution == "P001" && p001.enabled)
        #expect(p001.key.count == 32 && p001.key.first == 0xAE && p001.key.last == 0xAC)
        #expect(rows.first { $0.terminal == "P002-99" }?.enabled == false)
    }

    @Test func crlfAndBOMAreAccepted() throws {
        let text = "\u{FEFF}code,name,kind,level\r\nH001,医院,hospital,3\r\n"
        let rows = try InstitutionRecord.parse(csv: text)
        #expect(rows == [InstitutionRecord(code: "H001", name: "医院", kind: .hospital, level: 3)])
    }

    // Each malformed file, and the line and words its error must name.
    @Test(arguments: [
        ("code,name,class,unit,price_limit_fen\nA001,x,A,盒,1500\n", 1, "header"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,x,A,盒,1500\n", 2, "expected 6 columns, found 5"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,x,A,盒,1500,0,9\n", 2, "found 7"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,x,D,盒,1500,0\n", 2, "class `D`"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,x,A,盒,-1,0\n", 2, "price_limit_fen"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,x,A,盒,1 500,0\n", 2, "price_limit_fen"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,x,A,盒,10000000000,0\n", 2, "price_limit_fen"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nB001,x,B,盒,0,10001\n", 2, "first_selfpay_bp"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,x,A,盒,0,500\n", 2, "must be 0 for class A"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,x,A,盒,0,0\nA001,y,A,盒,0,0\n", 3, "duplicate code"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA 01,x,A,盒,0,0\n", 2, "code `A 01`"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,,A,盒,0,0\n", 2, "name"),
        ("code,name,class,unit,price_limit_fen,first_selfpay_bp\nA001,\"x\",A,盒,0,0\n", 2, "quoted"),
        ("", 1, "missing header"),
    ] as [(String, Int, String)])
    func malformedCatalog(text: String, line: Int, words: String) {
        do {
            _ = try ReferenceData.parseCatalog(text)
            Issue.record("expected an error")
        } catch let error as CSVError {
            #expect(error.file == "catalog.csv")
            #expect(error.line == line)
            #expect(error.message.contains(words), "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    private static let policyHeader =
        "insurance,visit,level,deductible_fen,deductible_scope,fund_ratio_bp,annual_ceiling_fen,account_pays_full\n"

    @Test(arguments: [
        ("employee,pharmacy,1,0,year,0,0,0", "level 1 does not fit visit type pharmacy"),
        ("employee,outpatient,0,0,year,0,0,0", "level 0 does not fit"),
        ("employee,outpatient,4,0,year,0,0,0", "level"),
        ("worker,pharmacy,0,0,year,0,0,0", "insurance `worker`"),
        ("employee,clinic,0,0,year,0,0,0", "visit `clinic`"),
        ("employee,pharmacy,0,0,month,0,0,0", "deductible_scope `month`"),
        ("employee,pharmacy,0,0,year,10001,0,0", "fund_ratio_bp"),
        ("employee,pharmacy,0,0,year,0,0,2", "account_pays_full `2`"),
        ("employee,pharmacy,0,+5,year,0,0,0", "deductible_fen `+5`"),
        ("employee,pharmacy,0,0,year,0,0,0\nemployee,pharmacy,0,0,year,0,0,0", "duplicate policy"),
    ] as [(String, String)])
    func malformedPolicy(rows: String, words: String) {
        do {
            _ = try ReferenceData.parse(catalogCSV: Fixtures.catalogCSV, policyCSV: Self.policyHeader + rows + "\n")
            Issue.record("expected an error")
        } catch let error as CSVError {
            #expect(error.file == "policy.csv")
            #expect(error.line == rows.split(separator: "\n").count + 1)
            #expect(error.message.contains(words), "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test(arguments: [
        ("H001,医院,hospital,0", "level 0 does not fit kind hospital"),
        ("P001,药店,pharmacy,1", "level 1 does not fit kind pharmacy"),
        ("X001,x,clinic,0", "kind `clinic`"),
        ("H001,医院,hospital,3\nH001,医院,hospital,3", "duplicate code"),
        ("H001,医院,hospital", "expected 4 columns"),
    ] as [(String, String)])
    func malformedInstitutions(rows: String, words: String) {
        #expect {
            _ = try InstitutionRecord.parse(csv: "code,name,kind,level\n" + rows)
        } throws: { error in
            guard let error = error as? CSVError else { return false }
            return error.file == "institutions.csv" && error.message.contains(words)
        }
    }

    @Test(arguments: [
        ("T1,H001,00,1", "key_hex"),
        ("T1,H001,\(String(repeating: "g", count: 64)),1", "key_hex"),
        ("T1,H001,\(String(repeating: "a", count: 66)),1", "key_hex"),
        ("T1,H001,\(String(repeating: "A", count: 64)),yes", "enabled `yes`"),
        ("T1,Z999,\(String(repeating: "a", count: 64)),1", "unknown institution `Z999`"),
        ("T1,H001,\(String(repeating: "a", count: 64)),1\nT1,H001,\(String(repeating: "b", count: 64)),1", "duplicate terminal"),
    ] as [(String, String)])
    func malformedTerminals(rows: String, words: String) {
        #expect {
            _ = try TerminalRecord.parse(csv: "terminal,institution,key_hex,enabled\n" + rows, institutions: ["H001"])
        } throws: { error in
            guard let error = error as? CSVError else { return false }
            return error.file == "terminals.csv" && error.message.contains(words)
        }
    }

    @Test func errorDescriptionNamesFileAndLine() {
        #expect(CSVError(file: "catalog.csv", line: 7, message: "bad").description == "catalog.csv:7: bad")
    }

    @Test func hexDecoding() {
        #expect(decodeHex("00ffAB") == [0x00, 0xFF, 0xAB])
        #expect(decodeHex("") == [])
        #expect(decodeHex("0") == nil)
        #expect(decodeHex("0g") == nil)
    }
}
