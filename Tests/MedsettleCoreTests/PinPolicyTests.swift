import Testing
@testable import MedsettleCore

@Suite("PIN policy (RULES.md §2)")
struct PinPolicyTests {
    @Test(arguments: ["000000", "123456", "246810", "999999", "012345"])
    func wellFormed(_ pin: String) {
        #expect(PinPolicy.isWellFormed(pin))
    }

    @Test(arguments: ["", "12345", "1234567", "12345a", "12 456", "１２３４５６", "-12345", "+12345", "12345\n"])
    func malformed(_ pin: String) {
        #expect(!PinPolicy.isWellFormed(pin))
        #expect(PinPolicy.weakness(new: pin, old: "246810") == .malformed)
    }

    @Test(arguments: [
        // every ascending run
        ("012345", PinPolicy.Weakness.sequence), ("123456", .initial), ("234567", .sequence),
        ("345678", .sequence), ("456789", .sequence),
        // every descending run
        ("987654", .sequence), ("876543", .sequence), ("765432", .sequence), ("654321", .sequence),
        ("543210", .sequence),
        // every repeated digit
        ("000000", .repeatedDigit), ("111111", .repeatedDigit), ("222222", .repeatedDigit),
        ("333333", .repeatedDigit), ("444444", .repeatedDigit), ("555555", .repeatedDigit),
        ("666666", .repeatedDigit), ("777777", .repeatedDigit), ("888888", .repeatedDigit),
        ("999999", .repeatedDigit),
        // the old PIN itself
        ("246810", .sameAsOld),
    ] as [(String, PinPolicy.Weakness)])
    func weak(_ pin: String, reason: PinPolicy.Weakness) {
        #expect(PinPolicy.weakness(new: pin, old: "246810") == reason)
        #expect(PinPolicy.isWeak(new: pin, old: "246810"))
    }

    @Test func initialPINIsWeakEvenAsTheOldOne() {
        // Changing from 123456 to 123456: same as old comes first.
        #expect(PinPolicy.weakness(new: "123456", old: "123456") == .sameAsOld)
        #expect(PinPolicy.weakness(new: "123456", old: "246810") == .initial)
    }

    @Test(arguments: ["246810", "890123", "098765", "112233", "135790", "000001", "123457", "987653", "121212", "010101"])
    func good(_ pin: String) {
        // No wrap-around runs (890123, 098765), near-runs and near-repeats are fine.
        #expect(PinPolicy.weakness(new: pin, old: "555000") == nil)
        #expect(!PinPolicy.isWeak(new: pin, old: "555000"))
    }

    @Test func lockoutSequence() {
        // Six wrong PINs in a row: left 5, 4, 3, 2, 1, then locked at 6.
        var count = 0
        for n in 1...5 {
            #expect(PinPolicy.attempt(wrongCount: count, pinMatches: false) == .wrong(newCount: n, left: 6 - n))
            count = n
        }
        #expect(PinPolicy.attempt(wrongCount: count, pinMatches: false) == .locked(newCount: 6))
    }

    @Test(arguments: 0...5)
    func rightPINResets(_ count: Int) {
        #expect(PinPolicy.attempt(wrongCount: count, pinMatches: true) == .accepted(newCount: 0))
    }
}
