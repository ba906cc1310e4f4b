/// A statement whose parameters come from one Swift value, `Input`, with its `$n` placeholders
/// written by the code that binds them: for set-based writes that send each column of many rows
/// as one array and `unnest` them, where counting dozens of parameters by hand is how columns
/// end up bound to the wrong place.
///
/// ```swift
/// static let insert = PGComposedStatement<PGNoRows, [Line]>("insert_lines") { sql in
///     "INSERT INTO line (id, code) SELECT * FROM " + sql.unnest({ $0 }, [.int64("id", \.id), .text("code", \.code)], as: "x")
/// }
/// ```
///
/// Adding a column is one entry in the column list (and its name in the SQL): its placeholder,
/// its array type and its binding follow from it, and its Swift type is checked by the compiler.
/// When prepared, the statement is checked against PostgreSQL's description like any
/// `PGStatement`.
public struct PGComposedStatement<Row: PGRowDecodable, Input>: Sendable {
    public let sql: PGSQL
    private let binders: [PGComposer<Input>.Binder]
    private let check: PGShapeCheck

    public init(_ name: String, _ compose: (inout PGComposer<Input>) -> String) {
        var composer = PGComposer<Input>()
        let text = compose(&composer)
        sql = PGSQL(name, text)
        binders = composer.binders
        check = PGShapeCheck(statement: name, parameterTypes: composer.binders.map(\.types), row: Row.self)
    }

    /// The statement bound to `input`, ready to run.
    public func callAsFunction(_ input: Input) -> PGBound<Row> {
        PGBound(query: .typed(sql, binders.map { $0.bind(input) }, check))
    }
}

/// Writes a `PGComposedStatement`'s placeholders and remembers how to bind each.
public struct PGComposer<Input> {
    struct Binder: Sendable {
        let types: [UInt32]
        let bind: @Sendable (Input) -> String?
    }

    fileprivate(set) var binders: [Binder] = []

    /// A placeholder (`$n`) for one value of the input.
    public mutating func value<V: PGBindable>(_ value: @escaping @Sendable (Input) -> V) -> String {
        binders.append(Binder(types: V.pgParameterTypes, bind: { value($0).pgParameter }))
        return "$\(binders.count)"
    }

    /// `$n::type[]`: one column of the rows `rows` of the input as one array parameter, for a
    /// statement that takes slices of it (`($n::type[])[first:last]`) rather than a row each.
    public mutating func array<Element>(_ rows: @escaping @Sendable (Input) -> [Element], _ column: PGColumn<Element>) -> String {
        binders.append(Binder(types: column.arrayTypes, bind: { column.array(rows($0)) }))
        return "$\(binders.count)::\(column.sqlType)[]"
    }

    /// `unnest($a::type[], $b::type[], …) AS alias(name, …)`: the rows `rows` of the input, each
    /// column sent as one array.
    public mutating func unnest<Element>(_ rows: @escaping @Sendable (Input) -> [Element], _ columns: [PGColumn<Element>],
                                         as alias: String) -> String {
        precondition(!columns.isEmpty, "an unnest has columns")
        let arrays = columns.map { array(rows, $0) }
        return "unnest(\(arrays.joined(separator: ", "))) AS \(alias)(\(columns.map(\.name).joined(separator: ", ")))"
    }
}

/// One column of rows sent as an array parameter (see `PGComposer.unnest`).
public struct PGColumn<Element>: Sendable {
    public let name: String
    let sqlType: String
    let arrayTypes: [UInt32]
    let array: @Sendable ([Element]) -> String

    @usableFromInline
    init(name: String, sqlType: String, arrayTypes: [UInt32], array: @escaping @Sendable ([Element]) -> String) {
        self.name = name
        self.sqlType = sqlType
        self.arrayTypes = arrayTypes
        self.array = array
    }

    // Each column writes its array's text straight from the rows (no array of values first), in
    // code specialised for the caller's row type (inlinable): binding a batch's write is on every
    // settlement's path.

    @inlinable
    public static func int64(_ name: String, _ value: @escaping @Sendable (Element) -> Int64) -> PGColumn {
        integer(name, "bigint", PGType.int8Array, value)
    }

    @inlinable
    public static func optionalInt64(_ name: String, _ value: @escaping @Sendable (Element) -> Int64?) -> PGColumn {
        PGColumn(name: name, sqlType: "bigint", arrayTypes: [PGType.int8Array]) { rows in
            PGArrayText.text(count: rows.count) { out, index in
                if let number = value(rows[index]) { PGArrayText.appendDecimal(number, to: &out) } else { out.append(contentsOf: PGArrayText.null) }
            }
        }
    }

    @inlinable
    public static func int32(_ name: String, _ value: @escaping @Sendable (Element) -> Int64) -> PGColumn {
        integer(name, "integer", PGType.int4Array, value)
    }

    @inlinable
    public static func int16(_ name: String, _ value: @escaping @Sendable (Element) -> Int64) -> PGColumn {
        integer(name, "smallint", PGType.int2Array, value)
    }

    @inlinable
    static func integer(_ name: String, _ sqlType: String, _ arrayType: UInt32, _ value: @escaping @Sendable (Element) -> Int64) -> PGColumn {
        PGColumn(name: name, sqlType: sqlType, arrayTypes: [arrayType]) { rows in
            PGArrayText.text(count: rows.count) { out, index in PGArrayText.appendDecimal(value(rows[index]), to: &out) }
        }
    }

    @inlinable
    public static func text(_ name: String, _ value: @escaping @Sendable (Element) -> String) -> PGColumn {
        PGColumn(name: name, sqlType: "text", arrayTypes: [PGType.textArray]) { rows in
            PGArrayText.text(count: rows.count) { out, index in PGArrayText.appendQuoted(value(rows[index]), to: &out) }
        }
    }

    @inlinable
    public static func optionalText(_ name: String, _ value: @escaping @Sendable (Element) -> String?) -> PGColumn {
        PGColumn(name: name, sqlType: "text", arrayTypes: [PGType.textArray]) { rows in
            PGArrayText.text(count: rows.count) { out, index in
                if let text = value(rows[index]) { PGArrayText.appendQuoted(text, to: &out) } else { out.append(contentsOf: PGArrayText.null) }
            }
        }
    }

    @inlinable
    public static func bool(_ name: String, _ value: @escaping @Sendable (Element) -> Bool) -> PGColumn {
        PGColumn(name: name, sqlType: "boolean", arrayTypes: [PGType.boolArray]) { rows in
            PGArrayText.text(count: rows.count) { out, index in out.append(value(rows[index]) ? UInt8(ascii: "t") : UInt8(ascii: "f")) }
        }
    }

    @inlinable
    public static func bytes(_ name: String, _ value: @escaping @Sendable (Element) -> [UInt8]) -> PGColumn {
        PGColumn(name: name, sqlType: "bytea", arrayTypes: [PGType.byteaArray]) { rows in
            PGArrayText.text(count: rows.count) { out, index in PGArrayText.appendBytes(value(rows[index]), to: &out) }
        }
    }
}
