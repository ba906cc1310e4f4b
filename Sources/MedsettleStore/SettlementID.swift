/// The wire form of a settlement id: `S` and the row id in base 36 (`S1`, `SRS`, `S8F3K2`).
public enum SettlementID {
    private static let digits = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    public static func encode(_ id: Int64) -> String {
        precondition(id > 0, "settlement ids are positive")
        var value = id
        var out: [UInt8] = []
        while value > 0 {
            out.append(digits[Int(value % 36)])
            value /= 36
        }
        out.append(UInt8(ascii: "S"))
        return String(decoding: out.reversed(), as: UTF8.self)
    }

    /// The row id, or nil for anything that is not a settlement id (at most 12 base-36 digits).
    public static func decode(_ text: String) -> Int64? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8.count <= 13, utf8[0] == UInt8(ascii: "S") else { return nil }
        var value: Int64 = 0
        for c in utf8.dropFirst() {
            guard let digit = digits.firstIndex(of: c) else { return nil }
            value = value * 36 + Int64(digit)
        }
        return value > 0 ? value : nil
    }
}
