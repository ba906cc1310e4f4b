import MedsettleCore

/// Syntax checks for field values. Each helper is pure, looks at bytes only, and returns the typed
/// value or a `ValueError` (`BAD_REQUEST` unless noted) whose message names the key, ready for
/// `error.reply(tag:)`. `Result.get()` throws the typed error for callers that prefer `try`.
///
/// Whether a well-formed value *exists* (a card, a catalog item, a settlement) is not decided here.
public enum ValueSyntax {
    /// Most digits of an amount in fen: 15 digits always fit `Int64` and exceed any real sum.
    public static let maxAmountDigits = 15

    /// `trace`: 1–32 characters of `A-Z a-z 0-9 . _ -`.
    public static func trace(_ value: String, key: String = "trace") -> Result<String, ValueError> {
        let u = value.utf8
        guard (1...32).contains(u.count), u.allSatisfy(ByteClass.isTagByte) else {
            return bad("\(key) must be 1-32 of A-Z a-z 0-9 . _ -")
        }
        return .success(value)
    }

    /// A PIN: exactly 6 ASCII digits.
    public static func pin(_ value: String, key: String = "pin") -> Result<String, ValueError> {
        let u = value.utf8
        guard u.count == 6, u.allSatisfy(ByteClass.isDigit) else {
            return bad("\(key) must be exactly 6 digits")
        }
        return .success(value)
    }

    /// A card number: one upper-case letter then 8 digits (RULES.md §1).
    public static func cardNumber(_ value: String, key: String = "card") -> Result<String, ValueError> {
        let u = value.utf8
        guard u.count == 9, ByteClass.isUpper(u.first!), u.dropFirst().allSatisfy(ByteClass.isDigit) else {
            return bad("\(key) must be one upper-case letter then 8 digits")
        }
        return .success(value)
    }

    /// A non-negative integer of 1…`maxDigits` ASCII digits (no sign, no `+`, no spaces).
    public static func unsigned(_ value: String, key: String, maxDigits: Int = 15) -> Result<Int64, ValueError> {
        precondition((1...18).contains(maxDigits), "18 digits always fit Int64")
        let u = value.utf8
        guard (1...maxDigits).contains(u.count) else {
            return bad(u.isEmpty ? "\(key) is empty" : "\(key) has more than \(maxDigits) digits")
        }
        var n: Int64 = 0
        for b in u {
            guard ByteClass.isDigit(b) else { return bad("\(key) must be digits only") }
            n = n * 10 + Int64(b &- 0x30)
        }
        return .success(n)
    }

    /// An amount in fen, zero allowed: ASCII digits only, at most 15.
    public static func amount(_ value: String, key: String = "amount") -> Result<Fen, ValueError> {
        unsigned(value, key: key, maxDigits: maxAmountDigits)
    }

    /// An amount in fen that must be above zero (a credit, for instance).
    public static func positiveAmount(_ value: String, key: String = "amount") -> Result<Fen, ValueError> {
        amount(value, key: key).flatMap { $0 > 0 ? .success($0) : bad("\(key) must be positive") }
    }

    /// A boolean flag: `0` or `1`.
    public static func flag(_ value: String, key: String) -> Result<Bool, ValueError> {
        switch value {
        case "0": return .success(false)
        case "1": return .success(true)
        default: return bad("\(key) must be 0 or 1")
        }
    }

    /// A catalog item code as claim lines write it (`ITEMINFO code=`).
    public static func itemCode(_ value: String, key: String = "code") -> Result<String, ValueError> {
        let bytes = value.utf8
        guard (1...ItemList.maxCodeLength).contains(bytes.count), bytes.allSatisfy(ByteClass.isItemCodeByte) else {
            return bad("\(key) must be 1-\(ItemList.maxCodeLength) of A-Z a-z 0-9 _ -")
        }
        return .success(value)
    }

    /// A date `YYYYMMDD` that exists in the calendar (a business date, Asia/Shanghai).
    public static func date(_ value: String, key: String = "date") -> Result<BusinessDate, ValueError> {
        guard let date = BusinessDate(yyyymmdd: value) else {
            return bad("\(key) must be a calendar date YYYYMMDD")
        }
        return .success(date)
    }

    /// One of a fixed set of words (`visit`, `insurance`, `scope`, `reason`, …), compared exactly.
    public static func oneOf(_ value: String, key: String, allowed: [String]) -> Result<String, ValueError> {
        guard allowed.contains(value) else {
            return bad("\(key) must be one of \(allowed.joined(separator: "/"))")
        }
        return .success(value)
    }

    /// One case of a string-backed enumeration, compared exactly with the raw values.
    public static func oneOf<E: RawRepresentable & CaseIterable>(
        _ value: String, key: String, as type: E.Type
    ) -> Result<E, ValueError> where E.RawValue == String {
        guard let e = E(rawValue: value) else {
            return bad("\(key) must be one of \(E.allCases.map(\.rawValue).joined(separator: "/"))")
        }
        return .success(e)
    }

    /// A resident ID number (GB 11643): 17 digits and an ISO 7064 MOD 11-2 check character `0-9`
    /// or upper-case `X`. Answers `BAD_ID_NO` (RULES.md §1), not `BAD_REQUEST`.
    public static func idNo(_ value: String, key: String = "id_no") -> Result<String, ValueError> {
        guard value.utf8.count == 18 else {
            return .failure(ValueError(code: .badIdNo, message: "\(key) must be 18 characters"))
        }
        guard ResidentID.isValid(value) else {
            return .failure(ValueError(code: .badIdNo, message: "\(key) must be 17 digits and their check character"))
        }
        return .success(value)
    }

    /// Lower-case hex of exactly `byteCount` bytes (the `SIGNIN` mac is 32), decoded.
    public static func lowerHex(_ value: String, key: String, byteCount: Int) -> Result<[UInt8], ValueError> {
        let u = value.utf8
        guard u.count == byteCount * 2 else { return bad("\(key) must be \(byteCount * 2) lower-case hex digits") }
        var out = [UInt8]()
        out.reserveCapacity(byteCount)
        var high: UInt8 = 0
        var first = true
        for b in u {
            guard ByteClass.isDigit(b) || b &- 0x61 < 6, let v = ByteClass.hexValue(b) else {
                return bad("\(key) must be \(byteCount * 2) lower-case hex digits")
            }
            if first { high = v } else { out.append(high << 4 | v) }
            first.toggle()
        }
        return .success(out)
    }

    /// Free text of 1…`maxLength` Unicode scalars without control characters (a person's name:
    /// 1–64 characters). Control characters would survive escaping but corrupt logs and exports.
    public static func text(_ value: String, key: String, maxLength: Int = 64) -> Result<String, ValueError> {
        var count = 0
        for scalar in value.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                return bad("\(key) contains a control character")
            }
            count += 1
        }
        guard count >= 1 else { return bad("\(key) is empty") }
        guard count <= maxLength else { return bad("\(key) is longer than \(maxLength) characters") }
        return .success(value)
    }

    private static func bad<T>(_ message: String) -> Result<T, ValueError> {
        .failure(ValueError(code: .badRequest, message: message))
    }
}
