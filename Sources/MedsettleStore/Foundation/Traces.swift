import MedsettleCore
import PGClient

/// Idempotency by (terminal, trace), RULES.md §5: a repeat with the same content answers the first
/// result again (with `repeat=1`) and moves nothing; other content under the trace is
/// `TRACE_REUSED`; the late original of a reversed trace is `REVERSED`. Only an OK answer binds a
/// trace, so its record is written in the same transaction as the effect: as the settlement it
/// made, or as the answer's fields (`StoredAnswer`).

/// A traced request as the store needs it: the verb and a fingerprint of its content.
public struct TracedRequest: Sendable {
    public let trace: String
    public let verb: String
    /// SHA-256 of the request's content without its credentials (see `RequestFingerprint`).
    public let fingerprint: [UInt8]

    public init(trace: String, verb: String, fingerprint: [UInt8]) {
        precondition(fingerprint.count == 32, "a fingerprint is a SHA-256 digest")
        self.trace = trace
        self.verb = verb
        self.fingerprint = fingerprint
    }
}

/// The verbs whose traces REVERSE may name.
let reversibleVerbs: Set<String> = ["SETTLE", "DISCHARGE"]

/// What a trace is bound to, with its settlement if it names one (`TraceSQL.lookup`).
struct TraceRecord: PGRowDecodable {
    /// The position of the looked-up (terminal, trace) in the lookup's arrays, from 1.
    let position: Int
    let verb: String
    let fingerprint: [UInt8]
    let storedAnswer: String?
    let settlement: SettlementRecord?

    init(_ row: inout PGRow) {
        position = row("position")
        verb = row("verb")
        fingerprint = row("fingerprint")
        storedAnswer = row("reply")
        settlement = SettlementRecord(optional: &row)
    }

    /// Why a request that reuses this record's trace cannot be answered its first result, or nil
    /// when it is a repeat of the request that bound it.
    private func refusal(of request: TracedRequest) -> Refusal? {
        if verb == "REVERSE", reversibleVerbs.contains(request.verb) {
            return Refusal(.reversed, "trace \(request.trace) was reversed before it arrived")
        }
        guard verb == request.verb, constantTimeEqual(fingerprint, request.fingerprint) else {
            return Refusal(.traceReused, "trace \(request.trace) was already used for another request")
        }
        return nil
    }

    /// A repeat of a verb that makes a settlement (SETTLE, DISCHARGE): the settlement again.
    func repeatedSettlement(for request: TracedRequest) -> Answer<Settled> {
        if let refusal = refusal(of: request) { return .failure(refusal) }
        guard let settlement else { preconditionFailure("a \(verb) trace names its settlement") }
        if settlement.state == .reversed { return .failure(Refusal(.reversed, "the settlement was reversed")) }
        return .success(Settled(settlement: settlement, isRepeat: true))
    }

    /// A repeat of a verb whose answer the trace keeps (CREDIT, CANCEL, ADMIT, FEES).
    func repeatedAnswer(for request: TracedRequest) -> Answer<StoredAnswer> {
        if let refusal = refusal(of: request) { return .failure(refusal) }
        guard let storedAnswer else { preconditionFailure("a \(verb) trace holds its answer") }
        return .success(StoredAnswer(decoding: storedAnswer))
    }
}

/// A settlement as answers and repeats need it.
public struct SettlementRecord: Sendable, Equatable {
    public let id: Int64
    public let split: Split
    public let balanceAfter: Fen
    public let state: SettlementState

    init(id: Int64, split: Split, balanceAfter: Fen, state: SettlementState) {
        self.id = id
        self.split = split
        self.balanceAfter = balanceAfter
        self.state = state
    }

    /// The columns `id, total, …, balance_after, state` (as a LEFT JOIN gives them: all NULL when
    /// there is no settlement).
    init?(optional row: inout PGRow) {
        let id: Int64? = row("settlement_id")
        let total: Int64? = row("total"), selfpayFull: Int64? = row("selfpay_full"), selfpayFirst: Int64? = row("selfpay_first")
        let inscope: Int64? = row("inscope"), deductible: Int64? = row("deductible"), fund: Int64? = row("fund")
        let account: Int64? = row("account"), cash: Int64? = row("cash"), balanceAfter: Int64? = row("balance_after")
        let illness: Int64? = row("illness"), assist: Int64? = row("assist"), aid: Int64? = row("aid")
        let state: SettlementState? = row("state")
        guard let id else { return nil }
        guard let total, let selfpayFull, let selfpayFirst, let inscope, let deductible, let fund, let account, let cash,
              let illness, let assist, let aid, let balanceAfter, let state else {
            preconditionFailure("a settlement row has every figure (NOT NULL)")
        }
        // The row keeps `fund` (all funds) and the layers; the basic fund is what is left.
        self.init(id: id, split: Split(total: total, selfpayFull: selfpayFull, selfpayFirst: selfpayFirst, inscope: inscope,
                                       deductible: deductible, pool: fund - illness - assist, illness: illness, assist: assist,
                                       account: account, aid: aid, cash: cash),
                  balanceAfter: balanceAfter, state: state)
    }
}

/// What became of a settlement.
public enum SettlementState: String, Sendable, CaseIterable {
    case settled, cancelled, reversed
}

/// An OK answer's fields as the trace keeps them (`k=v` joined by spaces; the values are numbers,
/// codes and ids), for answering a repeat of a verb that makes no settlement.
struct StoredAnswer: Equatable {
    private(set) var fields: [(key: String, value: String)]

    init(_ fields: [(String, String)]) {
        self.fields = fields.map { (key: $0.0, value: $0.1) }
    }

    init(decoding text: String) {
        fields = text.split(separator: " ").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            precondition(parts.count == 2, "a stored answer is k=v pairs")
            return (key: String(parts[0]), value: String(parts[1]))
        }
    }

    var encoded: String {
        fields.map { field in
            precondition(!field.value.utf8.contains(UInt8(ascii: " ")) && !field.value.contains("="), "a stored value has no space or '='")
            return "\(field.key)=\(field.value)"
        }.joined(separator: " ")
    }

    /// The field `key`; its absence is a broken invariant (the same code wrote it).
    subscript(key: String) -> String {
        guard let field = fields.first(where: { $0.key == key }) else { preconditionFailure("stored answer without \(key)") }
        return field.value
    }

    /// The field `key` when the answer carries it (fields added to a reply after answers were stored).
    func optionalInt64(_ key: String) -> Int64? {
        guard let field = fields.first(where: { $0.key == key }) else { return nil }
        guard let value = Int64(field.value) else { preconditionFailure("stored \(key) is not a number") }
        return value
    }

    func int64(_ key: String) -> Int64 {
        guard let value = Int64(self[key]) else { preconditionFailure("stored \(key) is not a number") }
        return value
    }

    static func == (lhs: StoredAnswer, rhs: StoredAnswer) -> Bool { lhs.encoded == rhs.encoded }
}

enum TraceSQL {
    /// The records of (terminal, trace) pairs, each with its settlement if it names one. An index
    /// look-up per pair whatever the statistics say (a LATERAL … LIMIT 1: a plain join against
    /// `trace` was once planned as a hash join over the whole table).
    static let lookup = PGStatement<TraceRecord, PGArray<String>, PGArray<String>>("trace_lookup", """
        SELECT x.position::integer AS position, t.verb, t.fingerprint, t.reply, s.id AS settlement_id,
               s.total, s.selfpay_full, s.selfpay_first, s.inscope, s.deductible, s.fund, s.account, s.cash,
               s.illness, s.assist, s.aid, s.balance_after, s.state
        FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(terminal, trace, position)
        CROSS JOIN LATERAL (SELECT * FROM trace t WHERE t.terminal = x.terminal AND t.trace = x.trace LIMIT 1) AS t
        LEFT JOIN settlement s ON s.id = t.settlement_id
        """)
    static let insert = PGStatement<PGNoRows, String, String, String, PGBytes, String?, Int64?>("trace_insert", """
        INSERT INTO trace (terminal, trace, verb, fingerprint, reply, settlement_id) VALUES ($1, $2, $3, $4, $5, $6)
        """)
    static let exists = PGStatement<PGCount, String, String, PGBytes>("trace_exists", """
        SELECT count(*) AS count FROM trace WHERE terminal = $1 AND trace = $2 AND fingerprint = $3
        """)
}

extension PGTransaction {
    /// The record of this terminal's `request` trace, if the trace is bound.
    func traceRecord(_ request: TracedRequest, by context: TerminalContext) throws -> TraceRecord? {
        try query(TraceSQL.lookup(PGArray([context.terminal]), PGArray([request.trace]))).first
    }

    /// Binds the trace to an OK answer's fields.
    func recordTrace(_ request: TracedRequest, by context: TerminalContext, answer: StoredAnswer) throws {
        _ = try query(TraceSQL.insert(context.terminal, request.trace, request.verb, PGBytes(request.fingerprint), answer.encoded, nil))
    }
}

extension PGConnection {
    /// Whether this terminal's `request` was recorded (to learn what became of a lost commit).
    func traceRecorded(_ request: TracedRequest, by context: TerminalContext) throws -> Bool {
        try query(TraceSQL.exists(context.terminal, request.trace, PGBytes(request.fingerprint))).first?.count ?? 0 > 0
    }
}
