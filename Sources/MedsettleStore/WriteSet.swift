import MedsettleCore
import PGClient

/// Every write a transaction makes to cards, settlements and their ledgers, in one statement of
/// data-modifying CTEs (one execution instead of eight): PIN counts, settlements (with the
/// admission a discharge closes), their lines and traces, account debits, accumulators, QR uses
/// and card events. An empty array writes nothing. The referential checks run at the end of the
/// statement, when every row it inserts is there.
///
/// It is the one writer of these rows: a batch of settlements, a settlement alone, a discharge,
/// and the PIN bookkeeping and QR use of any verb — so a change of the schema has one place to go.
enum WriteSetSQL {
    static let write = PGStatement("write_set", """
        WITH wrong AS (
            UPDATE card c SET wrong_count = x.n, updated_at = now()
            FROM unnest($1::text[], $2::smallint[]) AS x(card_no, n) WHERE c.card_no = x.card_no
        ), s AS (
            INSERT INTO settlement (id, terminal, institution, trace, person_id, card_no, visit, business_date,
                                    total, selfpay_full, selfpay_first, inscope, deductible, fund, account, cash, balance_after,
                                    admission_id)
            OVERRIDING SYSTEM VALUE
            SELECT x.id, x.terminal, x.institution, x.trace, x.person_id, x.card_no, x.visit, $17::date,
                   x.total, x.selfpay_full, x.selfpay_first, x.inscope, x.deductible, x.fund, x.account, x.cash, x.balance_after,
                   x.admission_id
            FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[],
                        $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
                        $16::bigint[], $18::bigint[], $19::bigint[], $47::bigint[])
                 AS x(id, terminal, institution, trace, person_id, card_no, visit, total, selfpay_full, selfpay_first,
                      inscope, deductible, fund, account, cash, balance_after, admission_id)
        ), lines AS (
            INSERT INTO settlement_line (settlement_id, line_no, code, qty_milli, price, amount, selfpay_full, selfpay_first)
            SELECT * FROM unnest($20::bigint[], $21::integer[], $22::text[], $23::bigint[], $24::bigint[], $25::bigint[],
                                 $26::bigint[], $27::bigint[])
        ), traces AS (
            INSERT INTO trace (terminal, trace, verb, fingerprint, settlement_id)
            SELECT * FROM unnest($4::text[], $6::text[], $28::text[], $29::bytea[], $3::bigint[])
        ), discharged AS (
            UPDATE admission a SET status = 'closed', closed_at = now(), deductible_met = x.deductible
            FROM unnest($47::bigint[], $14::bigint[]) AS x(admission_id, deductible) WHERE a.id = x.admission_id
        ), debits AS (
            UPDATE person p SET balance = p.balance - x.amount, updated_at = now()
            FROM unnest($30::bigint[], $31::bigint[]) AS x(id, amount) WHERE p.id = x.id
        ), accumulated AS (
            INSERT INTO accumulator (person_id, year, visit, deductible_met, fund_paid)
            SELECT x.person_id, $32::smallint, x.visit, x.met, x.paid
            FROM unnest($33::bigint[], $34::text[], $35::bigint[], $36::bigint[]) AS x(person_id, visit, met, paid)
            ON CONFLICT (person_id, year, visit) DO UPDATE
            SET deductible_met = accumulator.deductible_met + excluded.deductible_met,
                fund_paid = accumulator.fund_paid + excluded.fund_paid
        ), qr AS (
            INSERT INTO qr_use (token_id, card_no, expires_at)
            SELECT x.token_id, x.card_no, to_timestamp(x.expires)
            FROM unnest($37::bytea[], $38::text[], $39::bigint[]) AS x(token_id, card_no, expires)
        ), events AS (
            INSERT INTO card_event (card_no, person_id, event, terminal, institution, channel, detail)
            SELECT * FROM unnest($40::text[], $41::bigint[], $42::text[], $43::text[], $44::text[], $45::text[], $46::text[])
        )
        SELECT 1
        """)

    /// Settlement ids taken ahead of the write, so that lines, traces and replies can name them.
    static let allocateIDs = PGStatement("allocate_settlement_ids", """
        SELECT nextval(pg_get_serial_sequence('settlement', 'id')) FROM generate_series(1, $1::integer)
        """)
}

/// The rows of a `WriteSetSQL.write`, column by column.
struct WriteSet {
    var wrongCards: [String] = [], wrongCounts: [Int64] = []

    var eventCards: [String?] = [], eventPersons: [Int64] = [], eventNames: [String] = []
    var eventTerminals: [String] = [], eventInstitutions: [String] = [], eventChannels: [String] = []
    var eventDetails: [String?] = []

    var ids: [Int64] = [], terminals: [String] = [], institutions: [String] = [], traces: [String] = []
    var persons: [Int64] = [], cards: [String] = [], visits: [String] = []
    var totals: [Int64] = [], selfpayFulls: [Int64] = [], selfpayFirsts: [Int64] = [], inscopes: [Int64] = []
    var deductibles: [Int64] = [], funds: [Int64] = [], accounts: [Int64] = [], cashes: [Int64] = []
    var balancesAfter: [Int64] = [], verbs: [String] = [], fingerprints: [PGBytes] = []
    var admissions: [Int64?] = []

    var lineSettlements: [Int64] = [], lineNumbers: [Int64] = [], lineCodes: [String] = []
    var lineQuantities: [Int64] = [], linePrices: [Int64] = [], lineAmounts: [Int64] = []
    var lineSelfpayFulls: [Int64] = [], lineSelfpayFirsts: [Int64] = []

    var debitPersons: [Int64] = [], debitAmounts: [Int64] = []

    var accPersons: [Int64] = [], accVisits: [String] = [], accMet: [Int64] = [], accPaid: [Int64] = []

    var qrTokens: [PGBytes] = [], qrCards: [String] = [], qrExpiries: [Int64] = []

    /// The PIN bookkeeping of a card presentation: the new wrong count, and the failure and lock
    /// events.
    mutating func record(_ decision: CardPresentation, holder: Cardholder, by context: TerminalContext) {
        if let count = decision.newWrongCount {
            wrongCards.append(holder.cardNo)
            wrongCounts.append(Int64(count))
        }
        if decision.pinFailed {
            event(holder, "pin_failed", by: context, detail: "count=\(decision.newWrongCount ?? holder.card.wrongCount)")
        }
        if decision.lockedNow { event(holder, "locked", by: context) }
    }

    mutating func event(_ holder: Cardholder, _ name: String, by context: TerminalContext, detail: String? = nil) {
        eventCards.append(holder.cardNo)
        eventPersons.append(holder.personID)
        eventNames.append(name)
        eventTerminals.append(context.terminal)
        eventInstitutions.append(context.institution)
        eventChannels.append(context.kind.rawValue)
        eventDetails.append(detail)
    }

    /// Every row of one settlement (`id` from `WriteSetSQL.allocateIDs`); a discharge names the
    /// admission it closes. A QR payment is used up with it, its event saying `qrDetail`.
    mutating func settle(id: Int64, _ priced: PricedClaim, holder: Cardholder, visit: VisitType,
                         traced request: TracedRequest, admission: Int64? = nil, by context: TerminalContext,
                         qrDetail: String? = nil) {
        let split = priced.split
        ids.append(id)
        admissions.append(admission)
        terminals.append(context.terminal)
        institutions.append(context.institution)
        traces.append(request.trace)
        persons.append(holder.personID)
        cards.append(holder.cardNo)
        visits.append(visit.rawValue)
        totals.append(split.total)
        selfpayFulls.append(split.selfpayFull)
        selfpayFirsts.append(split.selfpayFirst)
        inscopes.append(split.inscope)
        deductibles.append(split.deductible)
        funds.append(split.fund)
        accounts.append(split.account)
        cashes.append(split.cash)
        balancesAfter.append(priced.balanceAfter)
        verbs.append(request.verb)
        fingerprints.append(PGBytes(request.fingerprint))
        for (number, line) in priced.lines.enumerated() {
            lineSettlements.append(id)
            lineNumbers.append(Int64(number + 1))
            lineCodes.append(line.line.code)
            lineQuantities.append(line.line.quantity.milli)
            linePrices.append(line.line.price)
            lineAmounts.append(line.amount)
            lineSelfpayFulls.append(line.selfpayFull)
            lineSelfpayFirsts.append(line.selfpayFirst)
        }
        if split.account > 0 {
            debitPersons.append(holder.personID)
            debitAmounts.append(split.account)
        }
        if split.deductible > 0 || split.fund > 0 {
            accPersons.append(holder.personID)
            accVisits.append(visit.rawValue)
            accMet.append(split.deductible)
            accPaid.append(split.fund)
        }
        useQR(of: holder, by: context, detail: qrDetail ?? "trace=\(request.trace)")
    }

    /// Uses up the QR token the holder presented, if any (`qr_use` and a `qr_paid` event).
    mutating func useQR(of holder: Cardholder, by context: TerminalContext, detail: String) {
        guard let qr = holder.qr else { return }
        qrTokens.append(PGBytes(qr.tokenID))
        qrCards.append(holder.cardNo)
        qrExpiries.append(qr.expires)
        event(holder, "qr_paid", by: context, detail: detail)
    }

    /// Writes it all now (one round trip), if there is anything to write.
    func write(_ connection: PGConnection, date: BusinessDate) throws {
        if let query = query(date: date) { try connection.pipeline([query]) }
    }

    /// Writes it all with COMMIT in one round trip, ending the transaction opened by
    /// `PGConnection.transaction`; with nothing to write, that transaction ends on its own.
    func commit(_ connection: PGConnection, date: BusinessDate) throws {
        if let query = query(date: date) { try connection.commit(with: [query]) }
    }

    /// The one statement that writes all of it, or nil when there is nothing to write.
    func query(date: BusinessDate) -> PGQuery? {
        guard !ids.isEmpty || !wrongCards.isEmpty || !eventNames.isEmpty else { return nil }
        precondition(admissions.count == ids.count && lineSettlements.count == lineNumbers.count, "columns of one row stay together")
        return .prepared(WriteSetSQL.write, [
            PGArray(wrongCards), PGArray(wrongCounts),
            PGArray(ids), PGArray(terminals), PGArray(institutions), PGArray(traces), PGArray(persons),
            PGArray(cards), PGArray(visits), PGArray(totals), PGArray(selfpayFulls), PGArray(selfpayFirsts),
            PGArray(inscopes), PGArray(deductibles), PGArray(funds), PGArray(accounts), date.yyyymmdd,
            PGArray(cashes), PGArray(balancesAfter),
            PGArray(lineSettlements), PGArray(lineNumbers), PGArray(lineCodes), PGArray(lineQuantities),
            PGArray(linePrices), PGArray(lineAmounts), PGArray(lineSelfpayFulls), PGArray(lineSelfpayFirsts),
            PGArray(verbs), PGArray(fingerprints),
            PGArray(debitPersons), PGArray(debitAmounts),
            date.year, PGArray(accPersons), PGArray(accVisits), PGArray(accMet), PGArray(accPaid),
            PGArray(qrTokens), PGArray(qrCards), PGArray(qrExpiries),
            PGArray(eventCards), PGArray(eventPersons), PGArray(eventNames), PGArray(eventTerminals),
            PGArray(eventInstitutions), PGArray(eventChannels), PGArray(eventDetails),
            PGArray(admissions),
        ])
    }
}
