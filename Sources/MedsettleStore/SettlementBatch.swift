import MedsettleCore
import PGClient

/// Group commit: many cardholders' settlements in one transaction, with set-based statements.
///
/// A batch costs two round trips and one commit however many settlements it holds: one pipeline
/// (with BEGIN) finds repeated traces, locks every holder in person-id order (so two batches never
/// deadlock), reads their cards, accumulators and used QR tokens, and allocates settlement ids;
/// a second pipeline writes every row with one statement (`WriteSet`) and commits.
///
/// Isolation between cardholders is the same as for one settlement: each holder is locked before
/// their card is read, and a batch carries at most one settlement per person. Anything unusual —
/// a repeated trace, a second claim for a person already in the batch, a QR token that does not
/// verify — leaves the batch and runs alone afterwards, through the one-at-a-time path. If the
/// batch's transaction fails for any reason but a lost database, nothing of it is kept and every
/// settlement runs alone, so one bad claim never costs another its answer.
enum SettlementBatchSQL {
    // Every read below is written so that its plan is index lookups per batch member whatever the
    // statistics said when the generic plan was made (a LATERAL … LIMIT 1 or `= ANY(ARRAY(…))`):
    // a plain join against `trace` was once planned as a hash join over the whole table, and
    // settled ever slower as the table grew.
    static let traceHits = PGStatement("batch_trace_hits", """
        SELECT x.i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(terminal, trace, i)
        CROSS JOIN LATERAL (SELECT 1 FROM trace t WHERE t.terminal = x.terminal AND t.trace = x.trace LIMIT 1) AS hit
        """)
    static let lockHolders = PGStatement("batch_lock_holders", """
        SELECT id, id_no, name, insurance, has_account, balance, insured FROM person
        WHERE id = ANY(ARRAY(SELECT person_id FROM card WHERE card_no = ANY($1::text[])))
        ORDER BY id FOR UPDATE
        """)
    static let readCards = PGStatement("batch_read_cards", """
        SELECT status, wrong_count, status_before_loss, pin_salt, pin_hash, person_id, card_no
        FROM card WHERE card_no = ANY($1::text[])
        """)
    static let readAccumulators = PGStatement("batch_read_accumulators", """
        SELECT person_id, visit, deductible_met, fund_paid FROM accumulator
        WHERE person_id = ANY(ARRAY(SELECT person_id FROM card WHERE card_no = ANY($1::text[]))) AND year = $2
        """)
    static let qrUsed = PGStatement("batch_qr_used", """
        SELECT token_id FROM qr_use WHERE token_id = ANY($1::bytea[])
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
    /// The connection was lost at COMMIT: every member runs alone, as a retry whose trace tells
    /// whether the batch committed.
    case outcomeUnknown
}

extension Store {
    /// Settles a batch of jobs taken from the queue and completes every one of them: the batch's
    /// answers as soon as it has committed, then those that run alone, one by one.
    func settleBatch(_ jobs: [SettleJob]) {
        var members: [BatchMember] = []
        var alone: [SettleJob] = []
        var unknown: [SettleJob] = []
        var answers: [(SettleJob, Outcome)] = []
        var cards = Set<String>()
        var traces = Set<TraceKey>()
        let now = clock.now()
        for job in jobs {
            if let refusal = checkLines(job.claim.lines) {
                answers.append((job, refusal))
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
                    case .answer(let outcome): answers.append((member.job, outcome))
                    case .alone: alone.append(member.job)
                    }
                }
            case .unavailable(let outcome):
                answers += members.map { ($0.job, outcome) }
            case .rolledBack:
                alone.append(contentsOf: members.map(\.job))
            case .outcomeUnknown:
                unknown.append(contentsOf: members.map(\.job))
            }
        }
        answers.deliver()
        if !alone.isEmpty { settledAlone.increment(by: Int64(alone.count)) }
        for job in alone {
            [(job, settleAlone(job.claim, traced: job.traced, by: job.context))].deliver()
        }
        for job in unknown {
            [(job, settleAlone(job.claim, traced: job.traced, by: job.context, outcomeUnknown: true))].deliver()
        }
    }

    private func runBatch(_ members: [BatchMember]) -> BatchResult {
        do {
            return .committed(try pool.withConnection { connection in
                try connection.transaction { try batchTransaction(members, connection) }
            })
        } catch {
            if let error = error as? PGError, error.commitOutcomeUnknown { return .outcomeUnknown }
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
            .prepared(WriteSetSQL.allocateIDs, [members.count]),
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

        var writes = WriteSet()
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
        try writes.commit(connection, date: date)
        return verdicts
    }
}

/// (terminal, trace): one traced request's identity.
private struct TraceKey: Hashable {
    let terminal: String
    let trace: String
}
