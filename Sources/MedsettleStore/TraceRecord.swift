import MedsettleCore
import PGClient

/// Idempotency by (terminal, trace), RULES.md §5: a repeat with the same content answers the first
/// result again (with `repeat=1`) and moves nothing; other content under the trace is `TRACE_REUSED`.
/// Only an OK reply binds a trace, so a record is written in the same transaction as the effect.
enum TraceSQL {
    static let lookup = PGStatement("trace_lookup", """
        SELECT t.verb, t.fingerprint, t.reply, t.settlement_id
        FROM trace t WHERE t.terminal = $1 AND t.trace = $2
        """)
    static let insert = PGStatement("trace_insert", """
        INSERT INTO trace (terminal, trace, verb, fingerprint, reply, settlement_id)
        VALUES ($1, $2, $3, $4, $5, $6)
        """)
}

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

extension Store {
    /// The answer to a repeat of `request`, or nil when its trace is new for this terminal.
    func priorOutcome(_ connection: PGConnection, _ request: TracedRequest, by context: TerminalContext) throws -> Outcome? {
        try priorOutcome(from: try connection.pipeline([Self.traceLookup(request, by: context)])[0], connection, request)
    }

    static func traceLookup(_ request: TracedRequest, by context: TerminalContext) -> PGQuery {
        .prepared(TraceSQL.lookup, [context.terminal, request.trace])
    }

    /// The answer to a repeat, given the row of `traceLookup` (read earlier in a pipeline).
    func priorOutcome(from row: PGResult, _ connection: PGConnection, _ request: TracedRequest) throws -> Outcome? {
        guard row.rowCount == 1 else { return nil }
        let verb = try row.requireString(0, 0)
        let fingerprint = try row.requireBytes(0, 1)
        if verb == "REVERSE", Self.reversibleVerbs.contains(request.verb) {
            return .refused(.reversed, "trace \(request.trace) was reversed before it arrived")
        }
        guard verb == request.verb, constantTimeEqual(fingerprint, request.fingerprint) else {
            return .refused(.traceReused, "trace \(request.trace) was already used for another request")
        }
        if let settlementID = try row.int64(0, 3) {
            guard let settlement = try loadSettlement(connection, id: settlementID) else {
                throw PGError(kind: .decoding, message: "trace names a missing settlement")
            }
            if settlement.state == "reversed" { return .refused(.reversed, "the settlement was reversed") }
            return .ok(settlement.replyFields + [("repeat", "1")])
        }
        return .ok(Self.decodeReply(try row.requireString(0, 2)) + [("repeat", "1")])
    }

    /// Binds the trace to an OK reply (fields stored as sent) or to a settlement.
    func recordTrace(_ connection: PGConnection, _ request: TracedRequest, by context: TerminalContext,
                     reply: [(String, String)]?, settlementID: Int64? = nil) throws {
        try connection.query(TraceSQL.insert, [context.terminal, request.trace, request.verb,
                                               PGBytes(request.fingerprint),
                                               reply.map(Self.encodeReply), settlementID])
    }

    /// Reply fields as `k=v` joined by spaces; values here are numbers, codes and ids.
    static func encodeReply(_ fields: [(String, String)]) -> String {
        fields.map { key, value in
            precondition(!value.utf8.contains(UInt8(ascii: " ")) && !value.contains("="), "a stored reply value has no space or '='")
            return "\(key)=\(value)"
        }.joined(separator: " ")
    }

    static func decodeReply(_ text: String) -> [(String, String)] {
        text.split(separator: " ").compactMap { pair -> (String, String)? in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
    }
}
