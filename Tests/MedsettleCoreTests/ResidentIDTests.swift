import Testing
@testable import MedsettleCore

@Suite("Resident ID numbers (GB 11643, ISO 7064 MOD 11-2)")
struct ResidentIDTests {
    // Check characters worked out with weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 and the map
    // 1 0 X 9 8 7 6 5 4 3 2; e.g. 11010519491231002: Σ = 167, 167 mod 11 = 2 → X.
    @Test(arguments: [
        "11010519491231002X",   // the GB 11643 example
        "440524188001010014",
        "310115199003071239",
        "510107200002294564",
        "110101198001010002",
    ])
    func valid(_ id: String) {
        #expect(ResidentID.isValid(id))
    }

    @Test(arguments: [
        "",
        "11010519491231002",     // 17 characters
        "11010519491231002X0",   // 19 characters
        "11010519491231002x",    // lowercase x is refused (one spelling per person)
        "110105194912310029",    // wrong check character (X expected)
        "440524188001010015",    // wrong check character (4 expected)
        "4405241880010100A4",    // a letter among the digits
        "X40524188001010014",
        "44052418800101001４",    // a full-width digit
        " 440524188001010014",
        "44052418800101001 4",
        "４40524188001010014",    // 18 characters but not 18 bytes
    ])
    func invalid(_ id: String) {
        #expect(!ResidentID.isValid(id))
    }

    @Test func checkCharacterHelper() {
        #expect(ResidentID.checkCharacter(for: "11010519491231002") == "X")
        #expect(ResidentID.checkCharacter(for: "44052418800101001") == "4")
        #expect(ResidentID.checkCharacter(for: "1101051949123100") == nil)
        #expect(ResidentID.checkCharacter(for: "1101051949123100A") == nil)
        #expect(ResidentID.complete("31011519900307123") == "310115199003071239")
    }

    @Test func everyCheckCharacterOccurs() {
        // Generated numbers (as the demo seed makes them) are valid, and all 11 check characters
        // are reachable: vary the sequence digits.
        var seen: Set<Character> = []
        for n in 0..<200 {
            let seq = String(n + 1000).suffix(3)
            let first17 = "32010219850101" + seq
            let id = ResidentID.complete(first17)!
            #expect(ResidentID.isValid(id))
            seen.insert(id.last!)
        }
        #expect(seen == Set("0123456789X"))
    }
}
