/// PostgreSQL type OIDs (pg_type.oid) that statements here bind or return. A typed statement's
/// parameters and columns are checked against them once, when it is prepared on a connection.
public enum PGType {
    public static let bool: UInt32 = 16
    public static let bytea: UInt32 = 17
    public static let name: UInt32 = 19
    public static let int8: UInt32 = 20
    public static let int2: UInt32 = 21
    public static let int4: UInt32 = 23
    public static let text: UInt32 = 25
    public static let float8: UInt32 = 701
    public static let unknown: UInt32 = 705
    public static let bpchar: UInt32 = 1042
    public static let varchar: UInt32 = 1043
    public static let date: UInt32 = 1082
    public static let numeric: UInt32 = 1700
    public static let boolArray: UInt32 = 1000
    public static let byteaArray: UInt32 = 1001
    public static let int2Array: UInt32 = 1005
    public static let int4Array: UInt32 = 1007
    public static let textArray: UInt32 = 1009
    public static let bpcharArray: UInt32 = 1014
    public static let varcharArray: UInt32 = 1015
    public static let int8Array: UInt32 = 1016

    @usableFromInline static let integers: [UInt32] = [int2, int4, int8]
    @usableFromInline static let texts: [UInt32] = [text, varchar, bpchar, name, unknown]
}

/// A Swift type that a result column decodes into (text format).
///
/// A column's type is checked when its statement is prepared, and PostgreSQL's text output of a
/// checked type is always readable, so a value that does not decode, or a NULL where the row type
/// has no place for one, is a broken invariant: the process stops with the statement's and
/// column's names rather than carrying on with a guess.
public protocol PGDecodable {
    /// The column types this Swift type reads.
    static var pgColumnTypes: [UInt32] { get }
    /// The value from its text form, or nil when the text is not of this type's form.
    static func pgDecode(_ text: UnsafeBufferPointer<UInt8>) -> Self?
    /// What SQL NULL reads as, or nil when this type has no NULL.
    static var pgNull: Self? { get }
    /// A value to hand to a row type's initialiser while its columns are being checked.
    static var pgPlaceholder: Self { get }
}

extension PGDecodable {
    @inlinable public static var pgNull: Self? { nil }
}

extension Int64: PGDecodable {
    @inlinable public static var pgColumnTypes: [UInt32] { PGType.integers }
    @inlinable public static func pgDecode(_ text: UnsafeBufferPointer<UInt8>) -> Int64? { PGResult.parseInt64(text) }
    @inlinable public static var pgPlaceholder: Int64 { 1 }
}

extension Int: PGDecodable {
    @inlinable public static var pgColumnTypes: [UInt32] { PGType.integers }
    @inlinable public static func pgDecode(_ text: UnsafeBufferPointer<UInt8>) -> Int? { PGResult.parseInt64(text).map { Int($0) } }
    @inlinable public static var pgPlaceholder: Int { 1 }
}

extension Bool: PGDecodable {
    @inlinable public static var pgColumnTypes: [UInt32] { [PGType.bool] }
    @inlinable public static func pgDecode(_ text: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard text.count == 1 else { return nil }
        switch text[0] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: return nil
        }
    }
    @inlinable public static var pgPlaceholder: Bool { false }
}

extension String: PGDecodable {
    /// Text columns, and dates (`YYYY-MM-DD`, whatever the session's DateStyle says of output
    /// order, ISO is PostgreSQL's default and the engine never changes it).
    @inlinable public static var pgColumnTypes: [UInt32] { PGType.texts + [PGType.date] }
    @inlinable public static func pgDecode(_ text: UnsafeBufferPointer<UInt8>) -> String? { String(decoding: text, as: UTF8.self) }
    @inlinable public static var pgPlaceholder: String { "" }
}

extension Array: PGDecodable where Element == UInt8 {
    /// A `bytea` in hex format (`\x0a1b…`).
    @inlinable public static var pgColumnTypes: [UInt32] { [PGType.bytea] }
    @inlinable public static func pgDecode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count >= 2, text.count % 2 == 0, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity((text.count - 2) / 2)
        var index = 2
        while index < text.count {
            guard let high = PGResult.hexValue(text[index]), let low = PGResult.hexValue(text[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
    @inlinable public static var pgPlaceholder: [UInt8] { [] }
}

extension Optional: PGDecodable where Wrapped: PGDecodable {
    @inlinable public static var pgColumnTypes: [UInt32] { Wrapped.pgColumnTypes }
    @inlinable public static func pgDecode(_ text: UnsafeBufferPointer<UInt8>) -> Wrapped?? { Wrapped.pgDecode(text).map { .some($0) } }
    @inlinable public static var pgNull: Wrapped?? { .some(.none) }
    @inlinable public static var pgPlaceholder: Wrapped? { nil }
}
