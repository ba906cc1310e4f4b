/// A drug traceability code (药品追溯码, RULES.md §10): exactly 20 ASCII digits, one per package of
/// a traced item. A code is sold once: while a settlement that sold it stands, no claim may
/// present it again.
public struct TraceCode: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let length = 20
    /// The split that makes the code two integers (PostgreSQL keeps it as `code_hi`, `code_lo`):
    /// 20 digits need 67 bits, so no integer type holds one; the last 18 fit a bigint.
    static let lowDigits = 18

    /// The 20 digits, leading zeros kept.
    public let digits: String

    /// Nil unless `text` is exactly 20 ASCII digits.
    public init?(_ text: String) {
        guard text.utf8.count == Self.length, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        digits = text
    }

    /// The code from its two integers (`high` the first 2 digits, `low` the last 18).
    public init?(high: Int64, low: Int64) {
        guard (0...99).contains(high), (0...999_999_999_999_999_999).contains(low) else { return nil }
        let lowText = String(low), highText = String(high)
        digits = String(repeating: "0", count: 2 - highText.count) + highText
            + String(repeating: "0", count: Self.lowDigits - lowText.count) + lowText
    }

    /// The first 2 digits as a number (0–99).
    public var high: Int64 { Int64(digits.utf8.prefix(2).reduce(0) { $0 * 10 + Int($1 &- 0x30) }) }
    /// The last 18 digits as a number (0 ... 10^18 − 1).
    public var low: Int64 { digits.utf8.dropFirst(2).reduce(Int64(0)) { $0 * 10 + Int64($1 &- 0x30) } }

    public var description: String { digits }

    public static func < (lhs: TraceCode, rhs: TraceCode) -> Bool { lhs.digits < rhs.digits }
}

/// What the catalog requires of a claim line's codes (RULES.md §10): a traced item names one code
/// per package, so its quantity is whole and its codes as many; an untraced item names none.
public enum TraceCodeRules {
    /// Why `line` does not carry the codes `item` requires, or nil when it does.
    public static func problem(of line: ClaimLine, for item: CatalogItem) -> String? {
        guard item.traced else {
            return line.traceCodes.isEmpty ? nil : "item \(item.code) is not traced: its line carries no traceability codes"
        }
        guard line.quantity.milli % 1000 == 0 else {
            return "item \(item.code) is traced: its quantity is a whole number of packages"
        }
        if line.traceCodes.isEmpty { return "item \(item.code) is traced: its line names one traceability code per package" }
        let packages = line.quantity.milli / 1000
        guard Int64(line.traceCodes.count) == packages else {
            return "item \(item.code): \(line.traceCodes.count) traceability codes for \(packages) packages"
        }
        return nil
    }

    /// The first of the claim's codes, in request order, that `sold` holds.
    public static func firstSold(in lines: [ClaimLine], sold: Set<TraceCode>) -> TraceCode? {
        guard !sold.isEmpty else { return nil }
        for line in lines {
            if let code = line.traceCodes.first(where: sold.contains) { return code }
        }
        return nil
    }
}
