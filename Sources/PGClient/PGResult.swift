import CLibPQ

/// The rows of one statement's result, owned until this object goes away (PQclear).
///
/// Not Sendable: read it on the thread that ran the statement, and copy out what you keep.
public final class PGResult {
    let handle: OpaquePointer
    public let rowCount: Int
    public let columnCount: Int

    init(handle: OpaquePointer) {
        self.handle = handle
        self.rowCount = Int(PQntuples(handle))
        self.columnCount = Int(PQnfields(handle))
    }

    deinit { PQclear(handle) }

    /// For the result of PQdescribePrepared: the statement's parameter and column types.
    var shape: PGShape {
        let parameters = (0..<PQnparams(handle)).map { UInt32(PQparamtype(handle, $0)) }
        let columns = (0..<PQnfields(handle)).map { (name: String(cString: PQfname(handle, $0)), type: UInt32(PQftype(handle, $0))) }
        return PGShape(parameterTypes: parameters, columns: columns)
    }

    /// The text of a value, nil for NULL; valid while this result lives.
    @usableFromInline
    func text(row: Int32, column: Int32) -> UnsafeBufferPointer<UInt8>? {
        if PQgetisnull(handle, row, column) != 0 { return nil }
        let length = Int(PQgetlength(handle, row, column))
        return PQgetvalue(handle, row, column)!.withMemoryRebound(to: UInt8.self, capacity: length) {
            UnsafeBufferPointer(start: $0, count: length)
        }
    }

    /// Rows changed by an INSERT/UPDATE/DELETE.
    public var affectedRows: Int {
        guard let text = PQcmdTuples(handle) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }

    public func isNull(_ row: Int, _ column: Int) -> Bool {
        precondition(row < rowCount && column < columnCount, "result index out of range")
        return PQgetisnull(handle, Int32(row), Int32(column)) != 0
    }

    public func string(_ row: Int, _ column: Int) -> String? {
        if isNull(row, column) { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    public func requireString(_ row: Int, _ column: Int) throws -> String {
        guard let value = string(row, column) else { throw nullError(row, column) }
        return value
    }

    /// Parses an integer column without building a String first.
    public func int64(_ row: Int, _ column: Int) throws -> Int64? {
        if isNull(row, column) { return nil }
        guard let text = PQgetvalue(handle, Int32(row), Int32(column)) else { return nil }
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        return try text.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
            guard let value = Self.parseInt64(UnsafeBufferPointer(start: bytes, count: length)) else {
                throw PGError(kind: .decoding, message: "column \(column) is not an integer")
            }
            return value
        }
    }

    public func requireInt64(_ row: Int, _ column: Int) throws -> Int64 {
        guard let value = try int64(row, column) else { throw nullError(row, column) }
        return value
    }

    public func requireInt(_ row: Int, _ column: Int) throws -> Int {
        Int(try requireInt64(row, column))
    }

    public func bool(_ row: Int, _ column: Int) -> Bool? {
        guard let text = string(row, column) else { return nil }
        return text == "t"
    }

    public func requireBool(_ row: Int, _ column: Int) throws -> Bool {
        guard let value = bool(row, column) else { throw nullError(row, column) }
        return value
    }

    /// Decodes a `bytea` column returned in hex format (`\x0a1b...`).
    public func bytes(_ row: Int, _ column: Int) throws -> [UInt8]? {
        precondition(row < rowCount && column < columnCount, "result index out of range")
        guard let text = text(row: Int32(row), column: Int32(column)) else { return nil }
        guard let bytes = [UInt8].pgDecode(text) else { throw PGError(kind: .decoding, message: "column \(column) is not hex bytea") }
        return bytes
    }

    public func requireBytes(_ row: Int, _ column: Int) throws -> [UInt8] {
        guard let value = try bytes(row, column) else { throw nullError(row, column) }
        return value
    }

    private func nullError(_ row: Int, _ column: Int) -> PGError {
        PGError(kind: .decoding, message: "unexpected NULL in row \(row) column \(column)")
    }

    @usableFromInline
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    @usableFromInline
    static func parseInt64(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") { negative = true; index = 1 }
        guard index < bytes.count else { return nil }
        var value: Int64 = 0
        while index < bytes.count {
            let c = bytes[index]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let digit = Int64(c - UInt8(ascii: "0"))
            let (s, o2) = negative ? m.subtractingReportingOverflow(digit) : m.addingReportingOverflow(digit)
            if o1 || o2 { return nil }
            value = s
            index += 1
        }
        return value
    }
}
