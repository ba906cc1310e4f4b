import CLibPQ

/// The row type of one statement: it reads its columns by name from a `PGRow`.
///
/// ```swift
/// struct Balance: PGRowDecodable {
///     let personID: Int64
///     let balance: Int64
///     init(_ row: inout PGRow) {
///         personID = row("id")
///         balance = row("balance")
///     }
/// }
/// ```
///
/// The initialiser must read every column the statement returns, each once, in one fixed order
/// (straight-line code, no branches): when the statement is prepared on a connection, the
/// initialiser is run once against the statement's description, which checks that each name it
/// asks for is returned with a type its Swift type reads and that no returned column is left
/// unread. Rows are then read by position without looking names up. During that check each
/// column reads as a placeholder (1, "", false, no bytes, NULL, an enum's first case): so an
/// initialiser only stores what it reads, and values that check their own invariants (a policy,
/// a quantity) are built from the stored columns afterwards.
public protocol PGRowDecodable: SendableMetatype {
    init(_ row: inout PGRow)
}

/// The row type of a statement that returns no rows (INSERT, UPDATE, DELETE without RETURNING).
public struct PGNoRows: PGRowDecodable {
    public init(_ row: inout PGRow) {}
}

/// One row of a result, read column by column (see `PGRowDecodable`).
public struct PGRow {
    @usableFromInline enum Source {
        /// Checking the row type against a statement's columns: answers placeholders.
        case checking(PGRowPlan.Builder)
        case result(PGResult, row: Int32, plan: PGRowPlan)
    }

    @usableFromInline let source: Source
    @usableFromInline var cursor = 0

    init(_ source: Source) {
        self.source = source
    }

    // Inlinable, so that the row types of the modules that use it read their columns through
    // specialised code: decoding is on every settlement's path.

    /// The column `name`, decoded as `T`.
    @inlinable
    public mutating func callAsFunction<T: PGDecodable>(_ name: StaticString, as type: T.Type = T.self) -> T {
        defer { cursor += 1 }
        switch source {
        case .checking(let builder):
            builder.expect(name, types: T.pgColumnTypes, swiftType: "\(T.self)")
            return T.pgPlaceholder
        case .result(let result, let row, let plan):
            let column = plan.column(cursor, named: name)
            guard let text = result.text(row: row, column: column) else {
                guard let null = T.pgNull else { plan.brokenInvariant(name, "is NULL, but its row type reads \(T.self)") }
                return null
            }
            guard let value = T.pgDecode(text) else { plan.brokenInvariant(name, "does not read as \(T.self)") }
            return value
        }
    }

    /// The column `name`, a text column holding one of `T`'s raw values (a CHECK constraint keeps
    /// anything else out).
    @inlinable
    public mutating func callAsFunction<T: RawRepresentable & CaseIterable>(_ name: StaticString, as type: T.Type = T.self) -> T
    where T.RawValue: PGDecodable {
        let raw: T.RawValue = self(name)
        if case .checking = source { return T.allCases.first! }
        guard let value = T(rawValue: raw) else { preconditionFailure("column \(name): \(raw) is not a \(T.self)") }
        return value
    }

    /// The column `name`, NULL or one of `T`'s raw values.
    @inlinable
    public mutating func callAsFunction<T: RawRepresentable & CaseIterable>(_ name: StaticString, as type: T?.Type = T?.self) -> T?
    where T.RawValue: PGDecodable {
        let raw: T.RawValue? = self(name)
        if case .checking = source { return nil }
        guard let raw else { return nil }
        guard let value = T(rawValue: raw) else { preconditionFailure("column \(name): \(raw) is not a \(T.self)") }
        return value
    }
}

/// Where each column of a row type stands in a prepared statement's result, found once per
/// statement and connection by running the row type against the statement's description.
public final class PGRowPlan: Sendable {
    let statement: String
    private let columns: [Int32]
    private let names: [StaticString]

    /// Stops the process: a column of a checked statement holds what its type cannot (a broken
    /// invariant of the schema or of this code, never the input's fault).
    @usableFromInline
    func brokenInvariant(_ name: StaticString, _ what: String) -> Never {
        preconditionFailure("statement \(statement): column \(name) \(what)")
    }

    private init(statement: String, columns: [Int32], names: [StaticString]) {
        self.statement = statement
        self.columns = columns
        self.names = names
    }

    @usableFromInline
    func column(_ index: Int, named name: StaticString) -> Int32 {
        precondition(index < columns.count && names[index].utf8Start == name.utf8Start,
                     "statement \(statement): its row type read \(name) out of the order it was checked in")
        return columns[index]
    }

    /// Checks `Row` against the described columns (name and type OID, in result order) and plans
    /// its reads; a mismatch is a programming error and stops the process with what is wrong.
    static func make<Row: PGRowDecodable>(for row: Row.Type, statement: String, described: [(name: String, type: UInt32)]) -> PGRowPlan {
        let builder = Builder()
        var reader = PGRow(.checking(builder))
        _ = Row(&reader)
        var columns: [Int32] = []
        var seen = Set<Int>()
        for expected in builder.expected {
            let name = "\(expected.name)"
            guard let index = described.firstIndex(where: { $0.name == name }) else {
                preconditionFailure("statement \(statement): \(Row.self) reads column \(name), which the statement does not return "
                                    + "(it returns \(described.map(\.name)))")
            }
            precondition(expected.types.isEmpty || expected.types.contains(described[index].type),
                         "statement \(statement): column \(name) has type OID \(described[index].type), which \(expected.swiftType) does not read")
            precondition(seen.insert(index).inserted, "statement \(statement): \(Row.self) reads column \(name) twice")
            columns.append(Int32(index))
        }
        precondition(columns.count == described.count,
                     "statement \(statement): returns \(described.map(\.name)) but \(Row.self) reads only \(builder.expected.map { "\($0.name)" })")
        return PGRowPlan(statement: statement, columns: columns, names: builder.expected.map(\.name))
    }

    /// Decodes every row of `result` as `Row`.
    func decode<Row: PGRowDecodable>(_ result: PGResult, as row: Row.Type) -> [Row] {
        var rows: [Row] = []
        rows.reserveCapacity(result.rowCount)
        for index in 0..<result.rowCount {
            var reader = PGRow(.result(result, row: Int32(index), plan: self))
            rows.append(Row(&reader))
            precondition(reader.cursor == columns.count, "statement \(statement): \(Row.self) read \(reader.cursor) of \(columns.count) columns")
        }
        return rows
    }

    @usableFromInline
    final class Builder {
        var expected: [(name: StaticString, types: [UInt32], swiftType: String)] = []
        @usableFromInline
        func expect(_ name: StaticString, types: [UInt32], swiftType: String) {
            expected.append((name, types, swiftType))
        }
    }
}

/// The row of `SELECT count(*) AS count …`.
public struct PGCount: PGRowDecodable, Sendable {
    public let count: Int64
    public init(_ row: inout PGRow) { count = row("count") }
}
