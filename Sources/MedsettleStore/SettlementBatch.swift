import MedsettleCore
import PGClient

/// Group commit: many cardholders' settlements in one transaction, with set-based statements.
///
/// A batch costs two round trips and one commit however many settlements it holds: one pipeline
/// (with BEGIN) finds repeated traces, locks every holder in person-id order (so two batches never
/// deadlock), reads their cards, accumulators and used QR tokens, and allocates settlement ids;
/// a second pipeline writes every row with one statement per table and commits.
///
/// Isolation between cardholders is the same as for one settlement: each holder is locked before
/// their card is read, and a batch carries at most one settlement per person. Anything unusual —
/// a repeated trace, a second claim for a person already in the batch, a QR token that does not
/// verify — leaves the batch and runs alone afterwards, through the one-at-a-time path. If the
/// batch's transaction fails for any reason but a lost database, nothing of it is kept and every
/// settlement runs alone, so one bad claim never costs another its answer.
enum SettlementBatchSQL {
    static let traceHits = PGStatement("batch_trace_hits", """
        SELECT x.i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(terminal, trace, i)
        JOIN trace t ON t.terminal = x.terminal AND t.trace = x.trace
        """)
    static let lockHolders = PGStatement("batch_lock_holders", """
        SELECT id, id_no, name, insurance, has_account, balance, insured FROM person
        WHERE id IN (SELECT person_id FROM card WHERE card_no = ANY($1::text[]))
        ORDER BY id FOR UPDATE
        """)
    static let readCards = PGStatement("batch_read_cards", """
        SELECT status, wrong_count, status_before_loss, pin_salt, pin_hash, person_id, card_no
        FROM card WHERE card_no = ANY($1::text[])
        """)
    static let readAccumulators = PGStatement("batch_read_accumulators", """
        SELECT person_id, visit, deductible_met, fund_paid FROM accumulator
        WHERE year = $2 AND person_id IN (SELECT person_id FROM card WHERE card_no = ANY($1::text[]))
        """)
    static let allocateIDs = PGStatement("batch_allocate_settlement_ids", """
        SELECT nextval(pg_get_serial_sequence('settlement', 'id')) FROM generate_series(1, $1::integer)
        """)
    static let qrUsed = PGStatement("batch_qr_used", """
        SELECT token_id FROM qr_use WHERE token_id = ANY($1::bytea[])
        """)

    static let setWrongCounts = PGStatement("batch_set_wrong_counts", """
        UPDATE card c SET wrong_count = x.n, updated_at = now()
        FROM unnest($1::text[], $2::smallint[]) AS x(card_no, n) WHERE c.card_no = x.card_no
        """)
    static let insertEvents = PGStatement("batch_insert_card_events", """
        INSERT INTO card_event (card_no, person_id, event, terminal, institution, channel, detail)
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
        """)
    static let insertSettlements = PGStatement("batch_insert_settlements", """
        INSERT INTO settlement (id, terminal, institution, trace, person_id, card_no, visit, business_date,
                                total, selfpay_full, selfpay_first, inscope, deductible, fund, account, cash, balance_after)
        OVERRIDING SYSTEM VALUE
        SELECT x.id, x.terminal, x.institution, x.trace, x.person_id, x.card_no, x.visit, $17::date,
               x.total, x.selfpay_full, x.selfpay_first, x.inscope, x.deductible, x.fund, x.account, x.cash, x.balance_after
        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[],
                    $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[],
                    $14::bigint[], $15::bigint[], $16::bigint[])
             AS x(id, terminal, institution, trace, person_id, card_no, visit, total, selfpay_full, selfpay_first,
                  inscope, deductible, fund, account, cash, balance_after)
        """)
    static let insertLines = PGStatement("batch_insert_settlement_lines", """
        INSERT INTO settlement_line (settlement_id, line_no, code, qty_milli, price, amount, selfpay_full, selfpay_first)
        SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
                             $7::bigint[], $8::bigint[])
        """)
    static let debitAccounts = PGStatement("batch_debit_accounts", """
        UPDATE person p SET balance = p.balance - x.amount, updated_at = now()
        FROM unnest($1::bigint[], $2::bigint[]) AS x(id, amount) WHERE p.id = x.id
        """)
    static let addAccumulators = PGStatement("batch_add_accumulators", """
        INSERT INTO accumulator (person_id, year, visit, deductible_met, fund_paid)
        SELECT x.person_id, $1::smallint, x.visit, x.met, x.paid
        FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS x(person_id, visit, met, paid)
        ON CONFLICT (person_id, year, visit) DO UPDATE
        SET deductible_met = accumulator.deductible_met + excluded.deductible_met,
            fund_paid = accumulator.fund_paid + excluded.fund_paid
        """)
    static let insertTraces = PGStatement("batch_insert_traces", """
        INSERT INTO trace (terminal, trace, verb, fingerprint, settlement_id)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::bigint[])
        """)
    static let consumeQR = PGStatement("batch_consume_qr", """
        INSERT INTO qr_use (token_id, card_no, expires_at)
        SELECT x.token_id, x.card_no, to_timestamp(x.expires)
        FROM unnest($1::bytea[], $2::text[], $3::bigint[]) AS x(token_id, card_no, expires)
        """)
}

/// A settlement admitted to a batch: its job and the card it names.
private struct BatchMember {
    let job: SettleJob
    let cardNo: String
    let token: QRTokens.Verified?
}

/// What a batch's transaction decided for each member: an answer, or "run alone afterwards".
private enum BatchVerdict {
    case answer(Outcome)
    case alone
}

/// How a batch's transaction ended.
private enum BatchResult {
    case committed([BatchVerdict])
    /// The database is unreachable or busy: the one answer for every member.
    case unavailable(Outcome)
    /// Rolled back for another reason: every member runs alone.
    case rolledBack
}

extension Store {
    /// Settles a batch of jobs taken from the queue and completes every one of them.
    func settleBatch(_ jobs: [SettleJob]) {
        var members: [BatchMember] = []
        var alone: [SettleJob] = []
        var cards = Set<String>()
        var traces = Set<TraceKey>()
        let now = clock.now()
        for job in jobs {
            if let refusal = checkLines(job.claim.lines) {
                job.complete(refusal)
                continue
            }
            let cardNo: String
            var token: QRTokens.Verified?
            switch job.claim.credential {
            case .card(let number, _):
                cardNo = number
            case .qr(let qr):
                guard case .success(let verified) = qrTokens.verify(qr, now: now) else {
                    alone.append(job)
                    continue
                }
                cardNo = verified.cardNo
                token = verified
            }
            guard traces.insert(TraceKey(terminal: job.context.terminal, trace: job.traced.trace)).inserted,
                  cards.insert(cardNo).inserted else {
                alone.append(job)
                continue
            }
            members.append(BatchMember(job: job, cardNo: cardNo, token: token))
        }
        if !members.isEmpty {
            batchSizes.record(members.count)
            switch runBatch(members) {
            case .committed(let verdicts):
                for (member, verdict) in zip(members, verdicts) {
                    switch verdict {
                    case .answer(let outcome): member.job.complete(outcome)
                    case .alone: alone.append(member.job)
                    }
                }
            case .unavailable(let outcome):
                for member in members { member.job.complete(outcome) }
            case .rolledBack:
                alone.append(contentsOf: members.map(\.job))
            }
        }
        if !alone.isEmpty { settledAlone.increment(by: Int64(alone.count)) }
        for job in alone {
            job.complete(settleAlone(job.claim, traced: job.traced, by: job.context))
        }
    }

    private func runBatch(_ members: [BatchMember]) -> BatchResult {
        do {
            return .committed(try pool.withConnection { connection in
                try connection.transaction { try batchTransaction(members, connection) }
            })
        } catch {
            if let outcome = infrastructureOutcome(error, operation: "SETTLE batch") { return .unavailable(outcome) }
            logger.debug("batch failed; settling its members one by one", metadata: ["size": "\(members.count)", "error": "\(error)"])
            return .rolledBack
        }
    }

    private func batchTransaction(_ members: [BatchMember], _ connection: PGConnection) throws -> [BatchVerdict] {
        let date = businessDate()
        let cardNos = members.map(\.cardNo)
        var reads: [PGQuery] = [
            .prepared(SettlementBatchSQL.traceHits, [PGArray(members.map(\.job.context.terminal)),
                                                     PGArray(members.map(\.job.traced.trace))]),
            .prepared(SettlementBatchSQL.lockHolders, [PGArray(cardNos)]),
            .prepared(SettlementBatchSQL.readCards, [PGArray(cardNos)]),
            .prepared(SettlementBatchSQL.readAccumulators, [PGArray(cardNos), date.year]),
            .prepared(SettlementBatchSQL.allocateIDs, [members.count]),
        ]
        let tokens = members.compactMap(\.token)
        if !tokens.isEmpty {
            reads.append(.prepared(SettlementBatchSQL.qrUsed, [PGArray(tokens.map { PGBytes($0.tokenID) })]))
        }
        let read = try connection.pipeline(reads)

        var repeated = Set<Int>()
        for row in 0..<read[0].rowCount { repeated.insert(Int(try read[0].requireInt64(row, 0)) - 1) }
        var personRows: [Int64: Int] = [:]
        for row in 0..<read[1].rowCount { personRows[try read[1].requireInt64(row, 0)] = row }
        var cardRows: [String: Int] = [:]
        for row in 0..<read[2].rowCount { cardRows[try read[2].requireString(row, 6)] = row }
        var accumulated: [Int64: [String: (Fen, Fen)]] = [:]
        for row in 0..<read[3].rowCount {
            accumulated[try read[3].requireInt64(row, 0), default: [:]][try read[3].requireString(row, 1)] =
                (try read[3].requireInt64(row, 2), try read[3].requireInt64(row, 3))
        }
        let ids = try (0..<read[4].rowCount).map { try read[4].requireInt64($0, 0) }
        var usedTokens = Set<[UInt8]>()
        if !tokens.isEmpty {
            for row in 0..<read[5].rowCount { usedTokens.insert(try read[5].requireBytes(row, 0)) }
        }
        guard ids.count == members.count else { throw PGError(kind: .decoding, message: "settlement ids not allocated") }

        var writes = BatchWrites()
        var persons = Set<Int64>()
        var verdicts: [BatchVerdict] = []
        verdicts.reserveCapacity(members.count)
        for (index, member) in members.enumerated() {
            let job = member.job
            if repeated.contains(index) {
                verdicts.append(.alone) // a repeat: answered from its record after the batch
                continue
            }
            guard let cardRow = cardRows[member.cardNo] else {
                verdicts.append(.answer(member.token == nil ? .refused(.cardNotFound, "no such card")
                                                            : .refused(.qrInvalid, "QR code names no card")))
                continue
            }
            let personID = try read[2].requireInt64(cardRow, 5)
            guard let personRow = personRows[personID] else {
                throw PGError(kind: .decoding, message: "a card's holder was not locked")
            }
            guard persons.insert(personID).inserted else {
                verdicts.append(.alone) // a second card of a person already in this batch
                continue
            }
            var holder = try Self.cardholder(person: read[1], row: personRow, card: read[2], row: cardRow, cardNo: member.cardNo)
            switch job.claim.credential {
            case .card(_, let pin):
                let matches = secrets.pinMatches(pin, salt: holder.pinSalt, cardNo: holder.cardNo, hash: holder.pinHash)
                let decision = CardRules.present(holder.card, pinMatches: matches)
                writes.record(decision, holder: holder, by: job.context)
                if let refusal = Self.refusal(of: decision) {
                    verdicts.append(.answer(refusal))
                    continue
                }
            case .qr:
                if let refusal = CardRules.presentQR(holder.card).refusal {
                    verdicts.append(.answer(Self.outcome(for: refusal)))
                    continue
                }
                if let token = member.token, usedTokens.contains(token.tokenID) {
                    verdicts.append(.answer(.refused(.qrUsed, "QR code has already been used")))
                    continue
                }
                holder.qr = member.token
            }
            let (met, paid) = accumulated[personID]?[job.claim.visit.rawValue] ?? (0, 0)
            switch price(job.claim, holder: holder, deductibleMet: met, fundPaid: paid, by: job.context) {
            case .failure(let outcome):
                verdicts.append(.answer(outcome))
            case .success(let priced):
                writes.settle(id: ids[index], priced, holder: holder, visit: job.claim.visit, traced: job.traced, by: job.context)
                let record = SettlementRecord(id: ids[index], split: priced.split, balanceAfter: priced.balanceAfter, state: "settled")
                verdicts.append(.answer(.ok(record.replyFields)))
            }
        }
        let queries = writes.queries(date: date)
        // With nothing to write, `transaction` ends the read-only transaction on its own.
        if !queries.isEmpty { try connection.commit(with: queries) }
        return verdicts
    }
}

/// (terminal, trace): one traced request's identity.
private struct TraceKey: Hashable {
    let terminal: String
    let trace: String
}

/// The rows a batch writes, column by column, for one set-based statement per table.
private struct BatchWrites {
    var wrongCards: [String] = [], wrongCounts: [Int64] = []

    var eventCards: [String?] = [], eventPersons: [Int64] = [], eventNames: [String] = []
    var eventTerminals: [String] = [], eventInstitutions: [String] = [], eventChannels: [String] = []
    var eventDetails: [String?] = []

    var ids: [Int64] = [], terminals: [String] = [], institutions: [String] = [], traces: [String] = []
    var persons: [Int64] = [], cards: [String] = [], visits: [String] = []
    var totals: [Int64] = [], selfpayFulls: [Int64] = [], selfpayFirsts: [Int64] = [], inscopes: [Int64] = []
    var deductibles: [Int64] = [], funds: [Int64] = [], accounts: [Int64] = [], cashes: [Int64] = []
    var balancesAfter: [Int64] = [], verbs: [String] = [], fingerprints: [PGBytes] = []

    var lineSettlements: [Int64] = [], lineNumbers: [Int64] = [], lineCodes: [String] = []
    var lineQuantities: [Int64] = [], linePrices: [Int64] = [], lineAmounts: [Int64] = []
    var lineSelfpayFulls: [Int64] = [], lineSelfpayFirsts: [Int64] = []

    var debitPersons: [Int64] = [], debitAmounts: [Int64] = []

    var accPersons: [Int64] = [], accVisits: [String] = [], accMet: [Int64] = [], accPaid: [Int64] = []

    var qrTokens: [PGBytes] = [], qrCards: [String] = [], qrExpiries: [Int64] = []

    /// The PIN bookkeeping of a presentation, as `Store.recordQueries` writes it for one.
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

    /// Every row of one settlement: the same rows `SettlementSQL.write` writes for one.
    mutating func settle(id: Int64, _ priced: PricedClaim, holder: Cardholder, visit: VisitType,
                         traced request: TracedRequest, by context: TerminalContext) {
        let split = priced.split
        ids.append(id)
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
        if let qr = holder.qr {
            qrTokens.append(PGBytes(qr.tokenID))
            qrCards.append(holder.cardNo)
            qrExpiries.append(qr.expires)
            event(holder, "qr_paid", by: context, detail: "trace=\(request.trace)")
        }
    }

    /// One statement per table that has rows, in an order that satisfies the foreign keys.
    func queries(date: BusinessDate) -> [PGQuery] {
        typealias SQL = SettlementBatchSQL
        var queries: [PGQuery] = []
        if !wrongCards.isEmpty {
            queries.append(.prepared(SQL.setWrongCounts, [PGArray(wrongCards), PGArray(wrongCounts)]))
        }
        if !ids.isEmpty {
            queries.append(.prepared(SQL.insertSettlements, [
                PGArray(ids), PGArray(terminals), PGArray(institutions), PGArray(traces), PGArray(persons),
                PGArray(cards), PGArray(visits), PGArray(totals), PGArray(selfpayFulls), PGArray(selfpayFirsts),
                PGArray(inscopes), PGArray(deductibles), PGArray(funds), PGArray(accounts), PGArray(cashes),
                PGArray(balancesAfter), date.yyyymmdd,
            ]))
            queries.append(.prepared(SQL.insertLines, [
                PGArray(lineSettlements), PGArray(lineNumbers), PGArray(lineCodes), PGArray(lineQuantities),
                PGArray(linePrices), PGArray(lineAmounts), PGArray(lineSelfpayFulls), PGArray(lineSelfpayFirsts),
            ]))
            queries.append(.prepared(SQL.insertTraces, [PGArray(terminals), PGArray(traces), PGArray(verbs),
                                                        PGArray(fingerprints), PGArray(ids)]))
        }
        if !debitPersons.isEmpty {
            queries.append(.prepared(SQL.debitAccounts, [PGArray(debitPersons), PGArray(debitAmounts)]))
        }
        if !accPersons.isEmpty {
            queries.append(.prepared(SQL.addAccumulators, [date.year, PGArray(accPersons), PGArray(accVisits),
                                                           PGArray(accMet), PGArray(accPaid)]))
        }
        if !qrTokens.isEmpty {
            queries.append(.prepared(SQL.consumeQR, [PGArray(qrTokens), PGArray(qrCards), PGArray(qrExpiries)]))
        }
        if !eventNames.isEmpty {
            queries.append(.prepared(SQL.insertEvents, [
                PGArray(eventCards), PGArray(eventPersons), PGArray(eventNames), PGArray(eventTerminals),
                PGArray(eventInstitutions), PGArray(eventChannels), PGArray(eventDetails),
            ]))
        }
        return queries
    }
}
