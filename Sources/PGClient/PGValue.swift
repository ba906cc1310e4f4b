/// A value that can be sent as a statement parameter in PostgreSQL's text format.
public protocol PGBindable: Sendable {
    /// The text form PostgreSQL parses for the parameter's type.
    var pgText: String { get }
}

extension String: PGBindable { public var pgText: String { self } }
extension Int: PGBindable { public var pgText: String { String(self) } }
extension Int64: PGBindable { public var pgText: String { String(self) } }
extension Int32: PGBindable { public var pgText: String { String(self) } }
extension Bool: PGBindable { public var pgText: String { self ? "t" : "f" } }

/// Binary data sent as a `bytea` parameter (hex format).
public struct PGBytes: PGBindable, Hashable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

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

/// A statement with a stable name, prepared lazily once per connection on first use.
public struct PGStatement: Sendable, Hashable {
    public let name: String
    public let sql: String
    public init(_ name: String, _ sql: String) {
        self.name = name
        self.sql = sql
    }
}

/// A one-dimensional array parameter (`{1,2,3}`, `{"a","b"}`), for set-based statements
/// that `unnest` many rows from one parameter.
public struct PGArray: PGBindable {
    public let pgText: String

    // Built byte by byte: batches bind dozens of arrays per statement, and building their text
    // through String interpolation and joins was a tenth of the engine's CPU under load.

    public init(_ values: [Int64]) {
        pgText = Self.text(count: values.count) { out, index in Self.appendDecimal(values[index], to: &out) }
    }

    /// NULL elements are written unquoted, as PostgreSQL's array syntax wants them.
    public init(_ values: [Int64?]) {
        pgText = Self.text(count: values.count) { out, index in
            if let value = values[index] { Self.appendDecimal(value, to: &out) } else { out.append(contentsOf: Self.null) }
        }
    }

    public init(_ values: [String]) {
        pgText = Self.text(count: values.count) { out, index in Self.appendQuoted(values[index], to: &out) }
    }

    public init(_ values: [String?]) {
        pgText = Self.text(count: values.count) { out, index in
            if let value = values[index] { Self.appendQuoted(value, to: &out) } else { out.append(contentsOf: Self.null) }
        }
    }

    /// A `bytea[]`: each element in bytea's hex format.
    public init(_ values: [PGBytes]) {
        pgText = Self.text(count: values.count) { out, index in
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "x"))
            for byte in values[index].bytes {
                out.append(Self.hexDigits[Int(byte >> 4)])
                out.append(Self.hexDigits[Int(byte & 0x0F)])
            }
            out.append(UInt8(ascii: "\""))
        }
    }

    private static let null: [UInt8] = Array("NULL".utf8)
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func text(count: Int, _ element: (inout [UInt8], Int) -> Void) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(2 + count * 12)
        for index in 0..<count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            element(&out, index)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
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

    /// `"…"` with `"` and `\` escaped by a backslash: always quoted, so that empty strings, `NULL`
    /// and values with commas or braces are taken literally.
    private static func appendQuoted(_ value: String, to out: inout [UInt8]) {
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
    case prepared(PGStatement, [(any PGBindable)?])
    case text(String)
}
