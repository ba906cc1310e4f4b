/// Money is always an integer number of fen (1 yuan = 100 fen). Never a floating-point value.
public typealias Fen = Int64

/// A claim quantity: a positive decimal with at most 3 places, held exactly as thousandths.
public struct Quantity: Sendable, Hashable, Comparable {
    /// The quantity times 1000 (`"0.5"` is 500).
    public let milli: Int64

    public init(milli: Int64) {
        precondition(milli > 0, "a quantity is positive")
        self.milli = milli
    }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.milli < rhs.milli }

    /// The canonical decimal spelling: no trailing zeros, no trailing point (`500` → `"0.5"`).
    public var description: String {
        let whole = milli / 1000
        var frac = milli % 1000
        if frac == 0 { return String(whole) }
        var digits = 3
        while frac % 10 == 0 { frac /= 10; digits -= 1 }
        let fracText = String(frac)
        return "\(whole)." + String(repeating: "0", count: digits - fracText.count) + fracText
    }
}

/// One line of a claim as the terminal sent it: `code × qty @ price` (price in fen per unit, as
/// sold), and for a traced item the traceability codes of its packages (RULES.md §10).
public struct ClaimLine: Sendable, Hashable {
    public let code: String
    public let quantity: Quantity
    public let price: Fen
    /// One code per package of a traced item, in the order sent; empty for other items.
    public let traceCodes: [TraceCode]

    public init(code: String, quantity: Quantity, price: Fen, traceCodes: [TraceCode] = []) {
        self.code = code
        self.quantity = quantity
        self.price = price
        self.traceCodes = traceCodes
    }
}
