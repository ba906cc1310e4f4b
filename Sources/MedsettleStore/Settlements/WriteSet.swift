import MedsettleCore
import PGClient

/// Every write a transaction makes to cards, settlements and their ledgers, as one statement of
/// data-modifying CTEs (one execution instead of eight): PIN counts, settlements (with the
/// admission a discharge closes), their lines, sold traceability codes and traces, account
/// debits, accumulators, QR uses and card events. An empty set writes nothing. The referential checks run at the end of the
/// statement, when every row it inserts is there.
///
/// It is the one writer of these rows — a batch of settlements, a settlement alone, a discharge,
/// the PIN bookkeeping and QR use of any verb, the card services' events — so a change of the
/// schema has one place to go: a field of a row type below and its column in `WriteSetSQL`.
struct WriteSet: Sendable {
    struct WrongCount: Sendable {
        let cardNo: String
        let count: Int
    }

    struct SettlementRow: Sendable {
        let id: Int64
        let terminal: String
        let institution: String
        let trace: String
        let verb: String
        let fingerprint: [UInt8]
        let personID: Int64
        let cardNo: String
        let visit: VisitType
        let split: Split
        let balanceAfter: Fen
        /// The admission a discharge closes.
        let admission: Int64?
        let versions: PricingVersions
        /// The family payer whose account paid `split.aid` (RULES.md §9).
        let aidPayer: Int64?
        /// Its lines' places in `WriteSet.lines` (1-based, as PostgreSQL counts array elements;
        /// empty when it has none).
        let lines: ClosedRange<Int>?
    }

    /// A traceability code sold by a settlement.
    struct SoldCodeRow: Sendable {
        let settlement: Int64
        let code: TraceCode
    }

    struct Debit: Sendable {
        let personID: Int64
        let amount: Fen
    }

    struct AccumulatorDelta: Sendable {
        let personID: Int64
        let visit: VisitType
        let delta: Accumulators
    }

    struct QRUse: Sendable {
        let token: QRTokens.Verified
        let cardNo: String
    }

    struct Event: Sendable {
        let cardNo: String?
        let personID: Int64
        let kind: CardEventKind
        let context: TerminalContext
        let agent: String?
        let detail: String?
    }

    /// The business date of the settlements and the year of the accumulators they add to.
    let date: BusinessDate
    private(set) var wrongCounts: [WrongCount] = []
    private(set) var settlements: [SettlementRow] = []
    /// The settlements' lines, each settlement's together and in order (`SettlementRow.lines`).
    private(set) var lines: [PricedLine] = []
    private(set) var soldCodes: [SoldCodeRow] = []
    private(set) var debits: [Debit] = []
    private var debitedPersons = Set<Int64>()
    private(set) var accumulators: [AccumulatorDelta] = []
    private(set) var qrUses: [QRUse] = []
    private(set) var events: [Event] = []

    init(date: BusinessDate) {
        self.date = date
    }

    var isEmpty: Bool { wrongCounts.isEmpty && settlements.isEmpty && events.isEmpty && qrUses.isEmpty }

    /// The one statement that writes all of it, or nil when there is nothing to write.
    var query: PGBound<PGNoRows>? {
        if isEmpty { return nil }
        return isSettlementsOnly ? WriteSetSQL.writeSettlements(self) : WriteSetSQL.write(self)
    }

    /// Settlements by card and nothing else: no PIN bookkeeping, card event, QR use, sold code
    /// or discharge — the usual pharmacy round.
    private var isSettlementsOnly: Bool {
        wrongCounts.isEmpty && events.isEmpty && qrUses.isEmpty && soldCodes.isEmpty && settlements.allSatisfy { $0.admission == nil }
    }

    /// The PIN bookkeeping of a card presentation: the new wrong count, and the failure and lock
    /// events.
    mutating func record(_ decision: CardPresentation?, holder: Cardholder, by context: TerminalContext) {
        guard let decision else { return }
        if let count = decision.newWrongCount { wrongCounts.append(WrongCount(cardNo: holder.cardNo, count: count)) }
        if decision.pinFailed {
            event(.pinFailed, holder, by: context, detail: "count=\(decision.newWrongCount ?? holder.card.wrongCount)")
        }
        if decision.lockedNow { event(.locked, holder, by: context) }
    }

    mutating func event(_ kind: CardEventKind, _ holder: Cardholder, by context: TerminalContext, agent: String? = nil,
                        detail: String? = nil) {
        event(kind, cardNo: holder.cardNo, personID: holder.personID, by: context, agent: agent, detail: detail)
    }

    mutating func event(_ kind: CardEventKind, cardNo: String?, personID: Int64, by context: TerminalContext,
                        agent: String? = nil, detail: String? = nil) {
        events.append(Event(cardNo: cardNo, personID: personID, kind: kind, context: context, agent: agent, detail: detail))
    }

    /// Every row of one settlement (`id` from `WriteSetSQL.allocateIDs`); a discharge names the
    /// admission it closes. A QR payment is used up with it, its event saying `qrDetail`.
    mutating func settle(id: Int64, _ pricedFor: PricedFor, visit: VisitType, traced request: TracedRequest,
                         admission: Int64? = nil, by context: TerminalContext, qrDetail: String? = nil) {
        let priced = pricedFor.claim, holder = pricedFor.holder
        let split = priced.split
        settlements.append(SettlementRow(
            id: id, terminal: context.terminal, institution: context.institution, trace: request.trace, verb: request.verb,
            fingerprint: request.fingerprint, personID: holder.personID, cardNo: holder.cardNo, visit: visit, split: split,
            balanceAfter: priced.balanceAfter, admission: admission, versions: pricedFor.versions, aidPayer: pricedFor.aidPayer,
            lines: priced.lines.isEmpty ? nil : (lines.count + 1)...(lines.count + priced.lines.count)))
        for line in priced.lines {
            lines.append(line)
            for code in line.line.traceCodes { soldCodes.append(SoldCodeRow(settlement: id, code: code)) }
        }
        if split.account > 0 { debit(holder.personID, split.account) }
        if split.aid > 0 {
            guard let payer = pricedFor.aidPayer else { preconditionFailure("aid is paid by a payer") }
            debit(payer, split.aid)
        }
        let delta = priced.accumulatorDelta(visit: visit)
        if delta != Accumulators() {
            accumulators.append(AccumulatorDelta(personID: holder.personID, visit: visit, delta: delta))
        }
        useQR(of: holder, by: context, detail: qrDetail ?? "trace=\(request.trace)")
    }

    /// One account debit. The statement applies one debit per person (an `UPDATE … FROM` joins each
    /// row once), and each was priced on the balance read for this transaction: a round therefore
    /// touches each balance once (`SettlementRounds` defers a claim whose holder or payer is taken).
    private mutating func debit(_ personID: Int64, _ amount: Fen) {
        precondition(debitedPersons.insert(personID).inserted, "one debit per person per write set")
        debits.append(Debit(personID: personID, amount: amount))
    }

    /// Uses up the QR token the holder presented, if any (`qr_use` and a `qr_paid` event).
    mutating func useQR(of holder: Cardholder, by context: TerminalContext, detail: String) {
        guard let qr = holder.qr else { return }
        qrUses.append(QRUse(token: qr, cardNo: holder.cardNo))
        event(.qrPaid, holder, by: context, detail: detail)
    }
}

/// What a card event says happened (`card_event.event`).
enum CardEventKind: String, Sendable, CaseIterable {
    case issued, pinChanged = "pin_changed", pinFailed = "pin_failed", locked
    case qrIssued = "qr_issued", qrPaid = "qr_paid", personUpdated = "person_updated"
    case unlock, pinReset = "pin_reset", reportLost = "report_lost", releaseLoss = "release_loss", replace, cancel
    case familyBound = "family_bound", familyUnbound = "family_unbound"

    /// The event of a card service.
    init(_ operation: CardOperation) {
        guard let kind = CardEventKind(rawValue: operation.rawValue) else { preconditionFailure("every card operation is an event") }
        self = kind
    }
}

enum WriteSetSQL {
    static let write = PGComposedStatement<PGNoRows, WriteSet>("write_set") { sql in text(&sql, settlementsOnly: false) }

    /// The same statement without the parts a round of card settlements leaves empty: a
    /// data-modifying CTE costs PostgreSQL its tables' and indexes' opening and locks, and its
    /// array parameters, even when it writes no row (about 60 µs a round for the five left out).
    static let writeSettlements = PGComposedStatement<PGNoRows, WriteSet>("write_set_settlements") { sql in
        text(&sql, settlementsOnly: true)
    }

    private static func text(_ sql: inout PGComposer<WriteSet>, settlementsOnly: Bool) -> String {
        let wrong = settlementsOnly ? "" : """
            wrong AS (
                UPDATE card c SET wrong_count = x.n, updated_at = now()
                FROM \(sql.unnest({ $0.wrongCounts }, [.text("card_no", { $0.cardNo }), .int16("n", { Int64($0.count) })], as: "x"))
                WHERE c.card_no = x.card_no
            ),
            """
        let settlements = """
            sx AS (
                SELECT * FROM \(sql.unnest({ $0.settlements }, [
                    .int64("id", { $0.id }), .text("terminal", { $0.terminal }), .text("institution", { $0.institution }), .text("trace", { $0.trace }),
                    .text("verb", { $0.verb }), .bytes("fingerprint", { $0.fingerprint }), .int64("person_id", { $0.personID }),
                    .text("card_no", { $0.cardNo }), .text("visit", { $0.visit.rawValue }),
                    .int64("total", { $0.split.total }), .int64("selfpay_full", { $0.split.selfpayFull }),
                    .int64("selfpay_first", { $0.split.selfpayFirst }), .int64("inscope", { $0.split.inscope }),
                    .int64("deductible", { $0.split.deductible }), .int64("fund", { $0.split.fund }), .int64("account", { $0.split.account }),
                    .int64("cash", { $0.split.cash }), .int64("illness", { $0.split.illness }), .int64("assist", { $0.split.assist }),
                    .int64("aid", { $0.split.aid }), .int64("balance_after", { $0.balanceAfter }), .optionalInt64("admission_id", { $0.admission }),
                    .int32("catalog_version", { Int64($0.versions.catalog) }), .int32("policy_version", { Int64($0.versions.policy) }),
                    .optionalInt64("aid_payer", { $0.aidPayer }),
                    // Its lines: a slice of each line array below ([1:0], empty, when it has none).
                    .int32("line_first", { Int64($0.lines?.lowerBound ?? 1) }), .int32("line_last", { Int64($0.lines?.upperBound ?? 0) }),
                ], as: "u"))
            ), s AS (
                -- A settlement's lines as its row's arrays (migration 0013), in line order: the
                -- round's lines go as one array per column, each settlement taking its slice (no
                -- aggregate, sort or join for PostgreSQL to set up at every execution).
                INSERT INTO settlement (id, terminal, institution, trace, person_id, card_no, visit, business_date,
                                        total, selfpay_full, selfpay_first, inscope, deductible, fund, account, cash, illness, assist, aid,
                                        balance_after, admission_id, catalog_version, policy_version, aid_payer,
                                        line_codes, line_qty_milli, line_prices, line_amounts, line_selfpay_full, line_selfpay_first)
                OVERRIDING SYSTEM VALUE
                SELECT id, terminal, institution, trace, person_id, card_no, visit, \(sql.value { $0.date.yyyymmdd })::date,
                       total, selfpay_full, selfpay_first, inscope, deductible, fund, account, cash, illness, assist, aid,
                       balance_after, admission_id, catalog_version, policy_version, aid_payer,
                       (\(sql.array({ $0.lines }, .text("code", { $0.line.code }))))[line_first:line_last],
                       (\(sql.array({ $0.lines }, .int64("qty_milli", { $0.line.quantity.milli }))))[line_first:line_last],
                       (\(sql.array({ $0.lines }, .int64("price", { $0.line.price }))))[line_first:line_last],
                       (\(sql.array({ $0.lines }, .int64("amount", { $0.amount }))))[line_first:line_last],
                       (\(sql.array({ $0.lines }, .int64("selfpay_full", { $0.selfpayFull }))))[line_first:line_last],
                       (\(sql.array({ $0.lines }, .int64("selfpay_first", { $0.selfpayFirst }))))[line_first:line_last]
                FROM sx
            ), traces AS (
                INSERT INTO trace (terminal, trace, verb, fingerprint, settlement_id)
                SELECT terminal, trace, verb, fingerprint, id FROM sx
            ), debits AS (
                UPDATE person p SET balance = p.balance - x.amount, updated_at = now()
                FROM \(sql.unnest({ $0.debits }, [.int64("id", { $0.personID }), .int64("amount", { $0.amount })], as: "x"))
                WHERE p.id = x.id
            ), accumulated AS (
                INSERT INTO accumulator (person_id, year, visit, deductible_met, fund_paid, burden, illness_paid, assist_paid)
                SELECT person_id, \(sql.value { Int64($0.date.year) })::smallint, visit, met, paid, burden, illness, assist
                FROM \(sql.unnest({ $0.accumulators }, [
                    .int64("person_id", { $0.personID }), .text("visit", { $0.visit.rawValue }),
                    .int64("met", { $0.delta.deductibleMet }), .int64("paid", { $0.delta.fundPaid }), .int64("burden", { $0.delta.burden }),
                    .int64("illness", { $0.delta.illnessPaid }), .int64("assist", { $0.delta.assistPaid }),
                ], as: "x"))
                ON CONFLICT (person_id, year, visit) DO UPDATE
                SET deductible_met = accumulator.deductible_met + excluded.deductible_met,
                    fund_paid = accumulator.fund_paid + excluded.fund_paid,
                    burden = accumulator.burden + excluded.burden,
                    illness_paid = accumulator.illness_paid + excluded.illness_paid,
                    assist_paid = accumulator.assist_paid + excluded.assist_paid
            )
            """
        let others = settlementsOnly ? "" : """
            , codes AS (
                -- In code order, so that two transactions selling common codes wait for each other
                -- at the first of them and never deadlock.
                INSERT INTO trace_code (code_hi, code_lo, settlement_id)
                SELECT hi, lo, settlement_id
                FROM \(sql.unnest({ $0.soldCodes }, [
                    .int16("hi", { $0.code.high }), .int64("lo", { $0.code.low }), .int64("settlement_id", { $0.settlement }),
                ], as: "x"))
                ORDER BY hi, lo
            ), discharged AS (
                UPDATE admission a SET status = 'closed', closed_at = now(), deductible_met = sx.deductible
                FROM sx WHERE a.id = sx.admission_id
            ), qr AS (
                INSERT INTO qr_use (token_id, card_no, expires_at)
                SELECT token_id, card_no, to_timestamp(expires)
                FROM \(sql.unnest({ $0.qrUses }, [
                    .bytes("token_id", { $0.token.tokenID }), .text("card_no", { $0.cardNo }), .int64("expires", { $0.token.expires }),
                ], as: "x"))
            ), events AS (
                INSERT INTO card_event (card_no, person_id, event, terminal, institution, channel, agent_id, detail)
                SELECT card_no, person_id, event, terminal, institution, channel, agent_id, detail
                FROM \(sql.unnest({ $0.events }, [
                    .optionalText("card_no", { $0.cardNo }), .int64("person_id", { $0.personID }), .text("event", { $0.kind.rawValue }),
                    .text("terminal", { $0.context.terminal }), .text("institution", { $0.context.institution }),
                    .text("channel", { $0.context.kind.rawValue }), .optionalText("agent_id", { $0.agent }), .optionalText("detail", { $0.detail }),
                ], as: "x"))
            )
            """
        return "WITH " + wrong + settlements + others + "\nSELECT"
    }

    /// Settlement ids taken ahead of the write, so that lines, traces and answers can name them
    /// (a block at a time: `SettlementIDs`).
    static let allocateIDs = PGStatement<AllocatedID, Int64>("allocate_settlement_ids", """
        SELECT nextval(pg_get_serial_sequence('settlement', 'id')) AS id FROM generate_series(1, $1::integer)
        """)
}

struct AllocatedID: PGRowDecodable {
    let id: Int64
    init(_ row: inout PGRow) { id = row("id") }
}
