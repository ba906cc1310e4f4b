import Testing
@testable import MedsettleCore
import ReferenceFiles

@Suite("The fixture reference data")
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
        let rows = try InstitutionFile.institutions(Fixtures.institutionsCSV)
        #expect(rows.count == 9)
        #expect(rows[0] == InstitutionRecord(code: "H001", name: "示范市第一人民医院", kind: .hospital, level: 3))
        #expect(rows.first { $0.code == "L001" }?.kind == .hotline)
        #expect(rows.first { $0.code == "G001" }?.kind == .agency)
    }

    @Test func fixtureTerminals() throws {
        let institutions = Set(try InstitutionFile.institutions(Fixtures.institutionsCSV).map(\.code))
        let rows = try TerminalFile.terminals(Fixtures.terminalsCSV, institutions: institutions)
        #expect(rows.count == 12)
        let p001 = try #require(rows.first { $0.terminal == "P001-01" })
        #expect(p001.institution == "P001" && p001.enabled)
        #expect(p001.key.count == 32 && p001.key.first == 0xAE && p001.key.last == 0xAC)
        #expect(rows.first { $0.terminal == "P002-99" }?.enabled == false)
    }

    @Test func hexDecoding() {
        #expect(decodeHex("00ffAB") == [0x00, 0xFF, 0xAB])
        #expect(decodeHex("") == [])
        #expect(decodeHex("0") == nil)
        #expect(decodeHex("0g") == nil)
    }
}
