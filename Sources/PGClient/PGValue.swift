/// A value that can be sent as a statement parameter in PostgreSQL's text format.
public protocol PGBindable: Sendable {
    /// The text form PostgreSQL parses for the parameter's type.
    var pgText: String { get }
    /// The parameter as sent: its text, or nil for SQL NULL.
    var pgParameter: String? { get }
    /// The parameter types (as PostgreSQL infers them from the statement) this Swift type may be
    /// bound to; checked once when a typed statement is prepared. Empty: any.
    static var pgParameterTypes: [UInt32] { get }
}

extension PGBindable {
    public var pgParameter: String? { pgText }
    public static var pgParameterTypes: [UInt32] { [] }
}

extension String: PGBindable {
    public var pgText: String { self }
    public static var pgParameterTypes: [UInt32] { PGType.texts + [PGType.date] }
}
extension Int: PGBindable {
    public var pgText: String { String(self) }
    public static var pgParameterTypes: [UInt32] { PGType.integers }
}
extension Int64: PGBindable {
    public var pgText: String { String(self) }
    public static var pgParameterTypes: [UInt32] { PGType.integers }
}
extension Int32: PGBindable {
    public var pgText: String { String(self) }
    public static var pgParameterTypes: [UInt32] { PGType.integers }
}
extension Bool: PGBindable {
    public var pgText: String { self ? "t" : "f" }
    public static var pgParameterTypes: [UInt32] { [PGType.bool] }
}

/// NULL when nil.
extension Optional: PGBindable where Wrapped: PGBindable {
    public var pgText: String { self?.pgText ?? "" }
    public var pgParameter: String? { self?.pgText }
    public static var pgParameterTypes: [UInt32] { Wrapped.pgParameterTypes }
}

/// Binary data sent as a `bytea` parameter (hex format).
public struct PGBytes: PGBindable, Hashable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public static var pgParameterTypes: [UInt32] { [PGType.bytea] }

    public var pgText: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        out.reserveCapacity(2 + bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// An element type of `PGArray`, and the array types it binds to.
public protocol PGArrayElement {
    static var pgArrayTypes: [UInt32] { get }
}
extension Int64: PGArrayElement { public static var pgArrayTypes: [UInt32] { [PGType.int8Array, PGType.int4Array, PGType.int2Array] } }
extension String: PGArrayElement { public static var pgArrayTypes: [UInt32] { [PGType.textArray, PGType.varcharArray, PGType.bpcharArray] } }
extension PGBytes: PGArrayElement { public static var pgArrayTypes: [UInt32] { [PGType.byteaArray] } }
extension Optional: PGArrayElement where Wrapped: PGArrayElement { public static var pgArrayTypes: [UInt32] { Wrapped.pgArrayTypes } }

/// A one-dimensional array parameter (`{1,2,3}`, `{"a","b"}`), for set-based statements
/// that `unnest` many rows from one parameter.
public struct PGArray<Element: PGArrayElement>: PGBindable {
    public let pgText: String
    public static var pgParameterTypes: [UInt32] { Element.pgArrayTypes }

    // Built byte by byte: batches bind dozens of arrays per statement, and building their text
    // through String interpolation and joins was a tenth of the engine's CPU under load.

    public init(_ values: [Int64]) where Element == Int64 {
        pgText = PGArrayText.text(count: values.count) { out, index in PGArrayText.appendDecimal(values[index], to: &out) }
    }

    /// NULL elements are written unquoted, as PostgreSQL's array syntax wants them.
    public init(_ values: [Int64?]) where Element == Int64? {
        pgText = PGArrayText.text(count: values.count) { out, index in
            if let value = values[index] { PGArrayText.appendDecimal(value, to: &out) } else { out.append(contentsOf: PGArrayText.null) }
        }
    }

    public init(_ values: [String]) where Element == String {
        pgText = PGArrayText.text(count: values.count) { out, index in PGArrayText.appendQuoted(values[index], to: &out) }
    }

    public init(_ values: [String?]) where Element == String? {
        pgText = PGArrayText.text(count: values.count) { out, index in
            if let value = values[index] { PGArrayText.appendQuoted(value, to: &out) } else { out.append(contentsOf: PGArrayText.null) }
        }
    }

    /// A `bytea[]`: each element in bytea's hex format.
    public init(_ values: [PGBytes]) where Element == PGBytes {
        pgText = PGArrayText.text(count: values.count) { out, index in PGArrayText.appendBytes(values[index].bytes, to: &out) }
    }


}

/// The text of an array parameter, built byte by byte.
@usableFromInline
enum PGArrayText {
    @usableFromInline static let null: [UInt8] = Array("NULL".utf8)
    @usableFromInline static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    @inlinable
    static func text(count: Int, _ element: (inout [UInt8], Int) -> Void) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(2 + count * 12)
        for index in 0..<count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            element(&out, index)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    @inlinable
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for position in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[position]) }
        }
    }

    /// A `bytea` element in hex format, quoted.
    @inlinable
    static func appendBytes(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "x"))
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `"…"` with `"` and `\` escaped by a backslash: always quoted, so that empty strings, `NULL`
    /// and values with commas or braces are taken literally.
    @inlinable
    static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// One query of a pipeline: a prepared statement with parameters, or a parameterless text command
/// such as `BEGIN` or `COMMIT`.
public enum PGQuery {
    case prepared(PGSQL, [(any PGBindable)?])
    case text(String)
    /// A typed statement's query (`PGBound`), with the check its statement gets at prepare time.
    case typed(PGSQL, [String?], PGShapeCheck)
}
