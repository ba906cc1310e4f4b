/// Resident identity numbers (居民身份证号码, GB 11643-1999): 17 digits — a 6-digit area code, the
/// birth date YYYYMMDD and a 3-digit sequence — plus a check character computed by
/// ISO 7064 MOD 11-2.
///
/// Only the shape and the check character are verified (RULES.md §1): the area code and the birth
/// date are not, so tests and the demo seed can make valid numbers from any 17 digits with
/// `checkCharacter(for:)`.
public enum ResidentID {
    /// The MOD 11-2 weights of positions 1–17 (2^(18−i) mod 11).
    static let weights: [Int] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    /// The check character for (Σ digit × weight) mod 11 = 0, 1, …, 10.
    static let checkMap: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    /// Whether `s` is 17 ASCII digits followed by their check character (`0-9` or uppercase `X`).
    ///
    /// A lowercase `x` is refused: GB 11643 prints an uppercase X, and `id_no` is the person's key,
    /// so accepting a second spelling would let one person be enrolled twice (or be not found)
    /// depending on the case a terminal happened to send. The caller answers `BAD_ID_NO`.
    public static func isValid(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard bytes.count == 18 else { return false }
        guard let expected = checkCharacter(forDigits: bytes[0..<17]) else { return false }
        return bytes[17] == expected.asciiValue
    }

    /// The check character for 17 ASCII digits, or nil if `first17` is not exactly that.
    public static func checkCharacter(for first17: String) -> Character? {
        let bytes = Array(first17.utf8)
        guard bytes.count == 17 else { return nil }
        return checkCharacter(forDigits: bytes[...])
    }

    /// `first17` with its check character appended, for seeds and tests; nil if not 17 digits.
    public static func complete(_ first17: String) -> String? {
        checkCharacter(for: first17).map { first17 + String($0) }
    }

    static func checkCharacter(forDigits digits: ArraySlice<UInt8>) -> Character? {
        guard digits.count == 17 else { return nil }
        var sum = 0
        for (digit, weight) in zip(digits, weights) {
            guard isASCIIDigit(digit) else { return nil }
            sum += Int(digit - 0x30) * weight
        }
        return checkMap[sum % 11]
    }
}
