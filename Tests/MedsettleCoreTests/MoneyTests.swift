import Testing
@testable import MedsettleCore

@Suite("Integer money arithmetic")
struct MoneyTests {
    @Test(arguments: [
        (Int64(0), Int64(1000), Int64(0)),
        (499, 1000, 0),
        (500, 1000, 1),      // exactly half rounds up
        (1499, 1000, 1),
        (1500, 1000, 2),
        (2500, 1000, 3),     // half up, not half even
        (5000, 10_000, 1),
        (4999, 10_000, 0),
        (7, 2, 4),
        (Int64.max, Int64.max, 1),
        (Int64.max - 1, Int64.max, 1),   // just under 1, above half
        (Int64.max / 2, Int64.max, 0),   // just under half
    ] as [(Int64, Int64, Int64)])
    func roundsHalfUp(numerator: Int64, denominator: Int64, expected: Int64) {
        #expect(roundHalfUp(numerator, dividedBy: denominator) == expected)
    }

    @Test(arguments: [
        (Int64(7), Int64(2), Int64(3)),
        (-7, 2, -4),
        (-8, 2, -4),
        (0, 5, 0),
        (9999, 10_000, 0),
        (-1, 10_000, -1),
        (Int64.min, 1, Int64.min),
    ] as [(Int64, Int64, Int64)])
    func floorDivision(numerator: Int64, denominator: Int64, expected: Int64) {
        #expect(floorDiv(numerator, denominator) == expected)
    }

    @Test func lineAmountIsRoundOfQuantityTimesPrice() {
        #expect(amountFor(milli: 2000, price: 1250) == 2500)
        #expect(amountFor(milli: 1500, price: 1001) == 1502)  // 1501.5 → 1502
        #expect(amountFor(milli: 333, price: 1250) == 416)    // 416.25 → 416
        #expect(amountFor(milli: 1, price: 500) == 1)         // 0.5 → 1
        #expect(amountFor(milli: 1, price: 499) == 0)         // 0.499 → 0
        // Matches the brief's roundHalfUp(milli × price, 1000) wherever that product fits.
        for milli: Int64 in [1, 7, 333, 1000, 12_345] {
            for price: Int64 in [0, 1, 499, 500, 1250, 99_999] {
                #expect(amountFor(milli: milli, price: price) == roundHalfUp(milli * price, dividedBy: 1000))
            }
        }
    }

    @Test func wideProductsAreExact() {
        // (2^62) × 4 / 8 = 2^61: the product needs 65 bits.
        #expect(mulDivFloor(1 << 62, 4, 8) == 1 << 61)
        #expect(mulDivRoundHalfUp(Int64.max, Int64.max, Int64.max) == Int64.max)
        // Quotient too large for Int64.
        #expect(mulDivFloor(Int64.max, 4, 2) == nil)
        #expect(mulDivRoundHalfUp(Int64.max, 2, 1) == nil)
        // Quotient exactly Int64.max with a remainder that would round past it.
        #expect(mulDivRoundHalfUp(Int64.max, 2, 2) == Int64.max)
    }

    @Test func checkedAddition() {
        #expect(checkedAdd(1, 2) == 3)
        #expect(checkedAdd(Int64.max, 1) == nil)
    }
}
