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

    public init(_ values: [Int64]) {
        pgText = "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    /// NULL elements are written unquoted, as PostgreSQL's array syntax wants them.
    public init(_ values: [Int64?]) {
        pgText = "{" + values.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
    }

    public init(_ values: [String]) {
        pgText = "{" + values.map(Self.quoted).joined(separator: ",") + "}"
    }

    public init(_ values: [String?]) {
        pgText = "{" + values.map { $0.map(Self.quoted) ?? "NULL" }.joined(separator: ",") + "}"
    }

    /// A `bytea[]`: each element in bytea's hex format.
    public init(_ values: [PGBytes]) {
        self.init(values.map(\.pgText))
    }

    private static func quoted(_ value: String) -> String {
        var quoted = "\""
        for c in value.unicodeScalars {
            if c == "\"" || c == "\\" { quoted.unicodeScalars.append("\\") }
            quoted.unicodeScalars.append(c)
        }
        return quoted + "\""
    }
}

/// One query of a pipeline: a prepared statement with parameters, or a parameterless text command
/// such as `BEGIN` or `COMMIT`.
public enum PGQuery {
    case prepared(PGStatement, [(any PGBindable)?])
    case text(String)
}
