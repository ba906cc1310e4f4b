import MedsettleCore
import PGClient

/// A person and one of their cards, read with the person's row locked.
struct Cardholder {
    let personID: Int64
    let idNo: String
    let name: String
    let insurance: InsuranceType
    let hasAccount: Bool
    let balance: Fen
    let insured: Bool
    let cardNo: String
    let card: CardState
    let pinSalt: [UInt8]
    let pinHash: [UInt8]
    /// The QR token the holder presented, to be consumed when the operation succeeds.
    var qr: QRTokens.Verified? = nil
}

enum CardholderSQL {
    /// Locks the card's holder. The card is read by a second statement, after the lock is held,
    /// so that it reflects every transaction that held the lock before (READ COMMITTED takes a new
    /// snapshot per statement; a join in the locking statement could see a stale card row).
    static let lockHolderOfCard = PGStatement("lock_holder_of_card", """
        SELECT id, id_no, name, insurance, has_account, balance, insured
        FROM person WHERE id = (SELECT person_id FROM card WHERE card_no = $1)
        FOR UPDATE
        """)
    static let readCard = PGStatement("read_card", """
        SELECT status, wrong_count, status_before_loss, pin_salt, pin_hash, person_id
        FROM card WHERE card_no = $1
        """)
    static let qrUsed = PGStatement("qr_used", """
        SELECT 1 FROM qr_use WHERE token_id = $1
        """)
    static let insertEvent = PGStatement("insert_card_event", """
        INSERT INTO card_event (card_no, person_id, event, terminal, institution, channel, agent_id, detail)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """)
}

extension Store {
    /// Locks the holder of `cardNo` and reads the card (one round trip); nil when no such card exists.
    func lockCardholder(_ connection: PGConnection, cardNo: String) throws -> Cardholder? {
        let results = try connection.pipeline(Self.lockCardholderQueries(cardNo))
        return try Self.cardholder(person: results[0], card: results[1], cardNo: cardNo)
    }

    /// The two reads of `lockCardholder`, for callers that pipeline more queries behind them.
    static func lockCardholderQueries(_ cardNo: String) -> [PGQuery] {
        [.prepared(CardholderSQL.lockHolderOfCard, [cardNo]), .prepared(CardholderSQL.readCard, [cardNo])]
    }

    static func cardholder(person: PGResult, card: PGResult, cardNo: String) throws -> Cardholder? {
        guard person.rowCount == 1 else { return nil }
        guard card.rowCount == 1 else { throw PGError(kind: .decoding, message: "a locked holder without its card") }
        return try cardholder(person: person, row: 0, card: card, row: 0, cardNo: cardNo)
    }

    /// A holder from one row of `lockHolderOfCard`'s columns and one row of `readCard`'s.
    static func cardholder(person: PGResult, row p: Int, card: PGResult, row c: Int, cardNo: String) throws -> Cardholder {
        guard let insurance = InsuranceType(rawValue: try person.requireString(p, 3)),
              let status = CardStatus(rawValue: try card.requireString(c, 0)) else {
            throw PGError(kind: .decoding, message: "unreadable card or person row for a card")
        }
        let before = card.string(c, 2).flatMap(CardStatus.init(rawValue:))
        return Cardholder(
            personID: try person.requireInt64(p, 0), idNo: try person.requireString(p, 1),
            name: try person.requireString(p, 2), insurance: insurance,
            hasAccount: try person.requireBool(p, 4), balance: try person.requireInt64(p, 5),
            insured: try person.requireBool(p, 6), cardNo: cardNo,
            card: CardState(status: status, wrongCount: try card.requireInt(c, 1), statusBeforeLoss: before),
            pinSalt: try card.requireBytes(c, 3), pinHash: try card.requireBytes(c, 4))
    }

    /// Appends one event to the card's log. Never pass a PIN or a QR token in `detail`.
    func logCardEvent(_ connection: PGConnection, cardNo: String?, personID: Int64, event: String,
                      by context: TerminalContext, agent: String? = nil, detail: String? = nil) throws {
        try connection.pipeline([Self.cardEvent(cardNo: cardNo, personID: personID, event: event, by: context,
                                                agent: agent, detail: detail)])
    }

    static func cardEvent(cardNo: String?, personID: Int64, event: String, by context: TerminalContext,
                          agent: String? = nil, detail: String? = nil) -> PGQuery {
        .prepared(CardholderSQL.insertEvent, [cardNo, personID, event, context.terminal, context.institution,
                                              context.kind.rawValue, agent, detail])
    }

    /// Verifies a credential for a card-presenting verb and persists the PIN bookkeeping.
    /// On refusal the transaction must still commit (a wrong PIN is counted).
    func present(_ connection: PGConnection, _ credential: Credential, by context: TerminalContext) throws -> Result<Cardholder, Outcome> {
        switch credential {
        case .qr(let token):
            let verified: QRTokens.Verified
            switch qrTokens.verify(token, now: clock.now()) {
            case .failure(let code):
                return .failure(.refused(code, code == .qrExpired ? "QR code has expired" : "QR code is not valid"))
            case .success(let value): verified = value
            }
            guard var holder = try lockCardholder(connection, cardNo: verified.cardNo) else {
                return .failure(.refused(.qrInvalid, "QR code names no card"))
            }
            if let refusal = CardRules.presentQR(holder.card).refusal { return .failure(Self.outcome(for: refusal)) }
            // Read after the holder's lock: a concurrent use of the same token has committed by now.
            if try connection.query(CardholderSQL.qrUsed, [PGBytes(verified.tokenID)]).rowCount > 0 {
                return .failure(.refused(.qrUsed, "QR code has already been used"))
            }
            holder.qr = verified
            return .success(holder)
        case .card(let number, let pin):
            guard let holder = try lockCardholder(connection, cardNo: number) else {
                return .failure(.refused(.cardNotFound, "no such card"))
            }
            let matches = secrets.pinMatches(pin, salt: holder.pinSalt, cardNo: number, hash: holder.pinHash)
            let decision = CardRules.present(holder.card, pinMatches: matches)
            try record(decision, holder: holder, connection, by: context)
            if let refusal = Self.refusal(of: decision) { return .failure(refusal) }
            return .success(holder)
        }
    }

    /// Writes the count change and the failure/lock events that a decision calls for.
    func record(_ decision: CardPresentation, holder: Cardholder, _ connection: PGConnection, by context: TerminalContext) throws {
        var writes = WriteSet()
        writes.record(decision, holder: holder, by: context)
        try writes.write(connection, date: businessDate())
    }

    /// The answer to a presentation that was refused, or nil when it was accepted.
    static func refusal(of decision: CardPresentation) -> Outcome? {
        guard let refusal = decision.refusal else { return nil }
        var outcome = outcome(for: refusal)
        outcome.lockedCardNow = decision.lockedNow
        return outcome
    }

    static func outcome(for refusal: CardRefusal) -> Outcome {
        switch refusal {
        case .cancelled: return .refused(.cardCancelled, "card is cancelled")
        case .replaced: return .refused(.cardReplaced, "card has been replaced")
        case .lost: return .refused(.cardLost, "card is reported lost")
        case .locked: return .refused(.cardLocked, "card is locked after 6 wrong PINs; unlock it at a service window")
        case .pinWrong(let left): return .refused(.pinWrong, "wrong PIN", [("left", String(left))])
        case .pinChangeRequired: return .refused(.pinChangeRequired, "the initial PIN must be changed first")
        case .pinWeak: return .refused(.pinWeak, "new PIN is too weak")
        }
    }
}
