/// Wire ids of rows: a letter and the row id in base 36 — settlements `S1`, `S2S`, `S8F3K2`;
/// admissions `A1`, ….
public struct WireID: Sendable {
    public static let settlement = WireID(prefix: UInt8(ascii: "S"))
    public static let admission = WireID(prefix: UInt8(ascii: "A"))

    private static let digits = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    let prefix: UInt8

    public func encode(_ id: Int64) -> String {
        precondition(id > 0, "row ids are positive")
        var value = id
        var out: [UInt8] = []
        while value > 0 {
            out.append(Self.digits[Int(value % 36)])
            value /= 36
        }
        out.append(prefix)
        return String(decoding: out.reversed(), as: UTF8.self)
    }

    /// The row id, or nil for anything that is not such an id (at most 12 base-36 digits).
    public func decode(_ text: String) -> Int64? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8.count <= 13, utf8[0] == prefix else { return nil }
        var value: Int64 = 0
        for c in utf8.dropFirst() {
            guard let digit = Self.digits.firstIndex(of: c) else { return nil }
            value = value * 36 + Int64(digit)
        }
        return value > 0 ? value : nil
    }
}
