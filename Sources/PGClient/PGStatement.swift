/// A statement's identity on a connection: its stable name and its SQL, prepared lazily once per
/// connection on first use.
public struct PGSQL: Sendable, Hashable {
    public let name: String
    public let sql: String
    public init(_ name: String, _ sql: String) {
        self.name = name
        self.sql = sql
    }
}

/// A statement that returns rows of type `Row` and takes parameters of types `Param…` ($1, $2, …
/// in that order). Binding it is a call that the compiler checks:
///
/// ```swift
/// static let balance = PGStatement<Balance, String>("balance_of_card", "SELECT … WHERE card_no = $1")
/// let rows = try transaction.query(balance(cardNo))     // [Balance]
/// ```
///
/// When it is first prepared on a connection, PostgreSQL's description of it is checked against
/// these types (parameter count and types, `Row`'s columns by name and type); a mismatch stops
/// the process with what is wrong, at the first test that runs it.
public struct PGStatement<Row: PGRowDecodable, each Param: PGBindable>: Sendable {
    public let sql: PGSQL
    let check: PGShapeCheck

    public init(_ name: String, _ sql: String) {
        self.sql = PGSQL(name, sql)
        var types: [[UInt32]] = []
        for parameter in repeat (each Param).self { types.append(parameter.pgParameterTypes) }
        self.check = PGShapeCheck(statement: name, parameterTypes: types, row: Row.self)
    }

    /// The statement bound to its parameters, ready to run.
    public func callAsFunction(_ parameter: repeat each Param) -> PGBound<Row> {
        var values: [String?] = []
        for value in repeat each parameter { values.append(value.pgParameter) }
        return PGBound(query: .typed(sql, values, check))
    }
}

/// A typed statement with its parameters: one query for `PGConnection.query`, a pipeline or a
/// commit, whose result reads as `[Row]`.
public struct PGBound<Row: PGRowDecodable> {
    /// nil: `noRows`.
    let query: PGQuery?

    init(query: PGQuery) { self.query = query }

    private init() { query = nil }

    /// A statement the caller knows to find nothing (a look-up of an empty set of keys): in a
    /// pipeline it is not sent, and it answers no rows. A statement costs PostgreSQL a bind and
    /// an executor start-up even when its arrays are empty, and a settlement round sends eight.
    public static var noRows: PGBound<Row> { PGBound() }
}

/// What PostgreSQL says a prepared statement takes and returns.
public struct PGShape: Sendable {
    public let parameterTypes: [UInt32]
    public let columns: [(name: String, type: UInt32)]
}

/// Checks a typed statement against its `PGShape` and plans its row reads.
public struct PGShapeCheck: Sendable {
    let run: @Sendable (PGShape) -> PGRowPlan

    /// The parameters' accepted types (each parameter's `pgParameterTypes`, in `$n` order) and
    /// the row type to check against what PostgreSQL describes.
    init<Row: PGRowDecodable>(statement name: String, parameterTypes types: [[UInt32]], row: Row.Type) {
        run = { shape in
            precondition(shape.parameterTypes.count == types.count,
                         "statement \(name): its SQL takes \(shape.parameterTypes.count) parameters, its Swift type binds \(types.count)")
            for (index, (accepted, actual)) in zip(types, shape.parameterTypes).enumerated() {
                precondition(accepted.isEmpty || accepted.contains(actual),
                             "statement \(name): parameter $\(index + 1) has type OID \(actual), which its Swift type does not bind to")
            }
            return PGRowPlan.make(for: Row.self, statement: name, described: shape.columns)
        }
    }
}
