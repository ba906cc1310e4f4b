import MedsettleCore
import PGClient

/// The answer of ISSUE and of REPLACE: a new card, PENDING with the initial PIN.
public struct CardIssued: Sendable, Equatable {
    public let cardNo: String
}

/// The answer of a card service (UNLOCK, PINRESET, REPORTLOST, UNLOST, REPLACE, CANCELCARD).
public enum CardServiceDone: Sendable, Equatable {
    /// The card's status afterwards.
    case status(CardStatus)
    /// REPLACE: the new card (PENDING).
    case replaced(by: CardIssued)
    /// CANCELCARD: the card is CANCELLED and the account paid out.
    case cancelled(payout: Fen)
}

/// The answer of CARDINFO.
public struct CardDetails: Sendable, Equatable {
    public let cardNo: String
    public let idNo: String
    public let name: String
    public let insurance: InsuranceType
    public let status: CardStatus
    public let balance: Fen
}

/// The answer of QRCODE.
public struct QRIssued: Sendable, Equatable {
    public let token: String
    /// Unix seconds.
    public let expires: Int64
}

/// A card service request: the card, its holder's ID number and the proxy agent, if any.
public struct CardServiceRequest: Sendable {
    public let cardNo: String
    public let idNo: String
    public let agent: String?
    /// `reason=` of REPLACE and CANCELCARD, recorded in the event log.
    public let reason: String?

    public init(cardNo: String, idNo: String, agent: String?, reason: String? = nil) {
        self.cardNo = cardNo
        self.idNo = idNo
        self.agent = agent
        self.reason = reason
    }
}

struct CardNumber: PGRowDecodable {
    let cardNo: String
    init(_ row: inout PGRow) { cardNo = row("card_no") }
}

struct Payout: PGRowDecodable {
    let payout: Fen
    init(_ row: inout PGRow) { payout = row("payout") }
}

enum CardDeskSQL {
    /// A person's most recent card (for ISSUE, and the event log of a person without a card named).
    static let latestCard = PGStatement<CardRow, Int64>("latest_card_of", """
        SELECT card_no, person_id, status, wrong_count, status_before_loss, pin_salt, pin_hash FROM card
        WHERE person_id = $1 ORDER BY issued_at DESC, card_no DESC LIMIT 1
        """)
    static let nextCardNo = PGStatement<CardNumber>("next_card_no", """
        SELECT chr(65 + (n / 100000000)::int) || lpad((n % 100000000)::text, 8, '0') AS card_no FROM nextval('card_no_seq') AS n
        """)
    static let insertCard = PGStatement<PGNoRows, String, Int64, PGBytes, PGBytes>("insert_card", """
        INSERT INTO card (card_no, person_id, status, pin_salt, pin_hash) VALUES ($1, $2, 'PENDING', $3, $4)
        """)
    static let changePIN = PGStatement<PGNoRows, String, String, PGBytes, PGBytes>("change_pin", """
        UPDATE card SET status = $2, wrong_count = 0, pin_salt = $3, pin_hash = $4, updated_at = now()
        WHERE card_no = $1
        """)
    static let updateCard = PGStatement<PGNoRows, String, String, Int64, String?>("update_card_state", """
        UPDATE card SET status = $2, wrong_count = $3, status_before_loss = $4, updated_at = now()
        WHERE card_no = $1
        """)
    static let linkReplacement = PGStatement<PGNoRows, String, String>("link_replacement", """
        UPDATE card SET replaced_by = $2 WHERE card_no = $1
        """)
    static let resetPIN = PGStatement<PGNoRows, String, PGBytes, PGBytes>("reset_pin", """
        UPDATE card SET pin_salt = $2, pin_hash = $3, updated_at = now() WHERE card_no = $1
        """)
    static let endInsurance = PGStatement<Payout, Int64>("end_insurance", """
        UPDATE person SET insured = false, payout = balance, balance = 0, updated_at = now()
        WHERE id = $1 RETURNING payout
        """)
}

/// The window, hotline and online card services (RULES.md §2–§3): ISSUE, PINCHANGE, CARDINFO,
/// UNLOCK, PINRESET, REPORTLOST, UNLOST, REPLACE, CANCELCARD, QRCODE — each decided by
/// `CardRules` and written in one transaction with the holder's row locked, and logged with the
/// terminal, channel and proxy agent.
public struct CardDesk: Sendable {
    let runner: TransactionRunner
    let presenter: CardPresenter
    let clock: any Clock

    private var secrets: ServerSecrets { presenter.secrets }
    private func date() -> BusinessDate { BusinessDate(unixSeconds: clock.now()) }

    /// ISSUE (申领): a first card for a person with no valid card; PENDING with PIN 123456.
    public func issue(idNo: String, agent: String?, by context: TerminalContext) -> Answer<CardIssued> {
        let date = date()
        return runner.transaction("ISSUE") { transaction in
            guard let person = try transaction.query(PeopleSQL.lockPerson(idNo)).first else { return .failure(.noSuchPerson) }
            guard person.insured else { return .failure(Refusal(.badState, "this person's insurance has ended")) }
            let latest = try transaction.query(CardDeskSQL.latestCard(person.id)).first
            if case .failure(let code) = CardRules.issue(latest: latest?.state) {
                return .failure(Refusal(code, code == .cardExists ? "this person already has a valid card" : "no card can be issued to this person"))
            }
            let card = try newCard(transaction, personID: person.id)
            var writes = WriteSet(date: date)
            writes.event(.issued, cardNo: card.cardNo, personID: person.id, by: context, agent: agent)
            return try transaction.commit(writes, answering: .success(card))
        }
    }

    /// Inserts a new PENDING card with the initial PIN.
    private func newCard(_ transaction: borrowing PGTransaction, personID: Int64) throws -> CardIssued {
        guard let cardNo = try transaction.query(CardDeskSQL.nextCardNo()).first?.cardNo else { preconditionFailure("nextval returns") }
        let salt = randomBytes(16)
        let hash = secrets.pinHash(salt: salt, cardNo: cardNo, pin: PinPolicy.initialPIN)
        _ = try transaction.query(CardDeskSQL.insertCard(cardNo, personID, PGBytes(salt), PGBytes(hash)))
        return CardIssued(cardNo: cardNo)
    }

    /// PINCHANGE (修改密码): old PIN checked (and counted) as any presentation; the new one must
    /// not be weak. The card becomes ACTIVE.
    public func changePIN(cardNo: String, oldPIN: String, newPIN: String, by context: TerminalContext) -> Answer<CardStatus> {
        let date = date()
        return runner.transaction("PINCHANGE") { transaction in
            guard let holder = try transaction.lockCardholder(cardNo) else { return .failure(.noSuchCard) }
            let decision = CardRules.changePIN(holder.card, oldPINMatches: presenter.pinMatches(oldPIN, holder), oldPIN: oldPIN, newPIN: newPIN)
            var writes = WriteSet(date: date)
            guard decision.refusal == nil, let status = decision.newStatus else {
                writes.record(decision, holder: holder, by: context)
                return try transaction.commit(writes, alone: true, answering: .failure(Refusal.presentation(decision) ?? .card(.pinWeak)))
            }
            let salt = randomBytes(16)
            let hash = secrets.pinHash(salt: salt, cardNo: cardNo, pin: newPIN)
            _ = try transaction.query(CardDeskSQL.changePIN(cardNo, status.rawValue, PGBytes(salt), PGBytes(hash)))
            writes.event(.pinChanged, holder, by: context)
            return try transaction.commit(writes, answering: .success(status))
        }
    }

    /// CARDINFO (1101): the card and its holder, after the credential is verified.
    public func cardInfo(_ credential: Credential, by context: TerminalContext) -> Answer<CardDetails> {
        let date = date()
        return runner.transaction("CARDINFO") { transaction in
            var writes = WriteSet(date: date)
            let answer = try presenter.present(credential, transaction, writes: &writes, by: context).map { holder in
                CardDetails(cardNo: holder.cardNo, idNo: holder.idNo, name: holder.name, insurance: holder.insurance,
                            status: holder.card.status, balance: holder.balance)
            }
            return try transaction.commit(writes, alone: true, answering: answer)
        }
    }

    /// Applies a card operation (not `.issue`, which names no card) for the named holder.
    public func cardService(_ operation: CardOperation, _ request: CardServiceRequest, by context: TerminalContext) -> Answer<CardServiceDone> {
        precondition(operation != .issue, "ISSUE names no card; see issue(idNo:)")
        let date = date()
        return runner.transaction(operation.rawValue) { transaction in
            guard let person = try transaction.query(PeopleSQL.lockPerson(request.idNo)).first else { return .failure(.noSuchPerson) }
            guard let card = try transaction.query(CardholderSQL.readCards(PGArray([request.cardNo]))).first, card.personID == person.id else {
                return .failure(Refusal(.cardNotFound, "this card is not held by this person"))
            }
            switch CardRules.apply(operation, to: card.state) {
            case .failure(let code):
                return .failure(Refusal(code, Self.refusalMessage(code, operation)))
            case .success(let transition):
                var writes = WriteSet(date: date)
                let done = try apply(transition, operation, request, personID: person.id, transaction, writes: &writes, by: context)
                return try transaction.commit(writes, answering: .success(done))
            }
        }
    }

    private func apply(_ transition: CardTransition, _ operation: CardOperation, _ request: CardServiceRequest, personID: Int64,
                       _ transaction: borrowing PGTransaction, writes: inout WriteSet, by context: TerminalContext) throws -> CardServiceDone {
        // The old card stops being valid before the new one exists: one valid card per person.
        if let after = transition.card {
            _ = try transaction.query(CardDeskSQL.updateCard(request.cardNo, after.status.rawValue, Int64(after.wrongCount),
                                                             after.statusBeforeLoss?.rawValue))
        }
        var replacement: CardIssued?
        if transition.newCard != nil {
            let card = try newCard(transaction, personID: personID)
            _ = try transaction.query(CardDeskSQL.linkReplacement(request.cardNo, card.cardNo))
            replacement = card
        }
        if transition.resetsPIN {
            let salt = randomBytes(16)
            let hash = secrets.pinHash(salt: salt, cardNo: request.cardNo, pin: PinPolicy.initialPIN)
            _ = try transaction.query(CardDeskSQL.resetPIN(request.cardNo, PGBytes(salt), PGBytes(hash)))
        }
        let done: CardServiceDone
        var detail = request.reason.map { "reason=\($0)" }
        switch operation {
        case .replace:
            guard let replacement else { preconditionFailure("a replacement creates a card") }
            done = .replaced(by: replacement)
            detail = [detail, "new_card=\(replacement.cardNo)"].compactMap { $0 }.joined(separator: " ")
            writes.event(.issued, cardNo: replacement.cardNo, personID: personID, by: context, agent: request.agent,
                         detail: "replaces=\(request.cardNo)")
        case .cancel:
            guard let payout = try transaction.query(CardDeskSQL.endInsurance(personID)).first?.payout else {
                preconditionFailure("a locked person is updated")
            }
            // The bindings in which the person pays end with the insurance; those in which the person is
            // a member end only by FAMILYUNBIND or the payer's own end.
            let ended = try transaction.query(FamilySQL.endAsPayer(personID))
            for member in ended {
                writes.event(.familyUnbound, cardNo: member.cardNo, personID: member.member, by: context, agent: request.agent,
                             detail: "payer=\(request.idNo) relation=\(member.relation) reason=insurance_ended")
            }
            done = .cancelled(payout: payout)
            detail = [detail, "payout=\(payout)", ended.isEmpty ? nil : "family_bindings_ended=\(ended.count)"].compactMap { $0 }.joined(separator: " ")
        default:
            done = .status(transition.card?.status ?? .pending)
        }
        writes.event(CardEventKind(operation), cardNo: request.cardNo, personID: personID, by: context, agent: request.agent, detail: detail)
        return done
    }

    static func refusalMessage(_ code: ErrorCode, _ operation: CardOperation) -> String {
        switch code {
        case .cardReplaced: return "card has been replaced"
        case .cardCancelled: return "card is cancelled"
        case .cardLost: return "card is reported lost"
        case .cardExists: return "this person already has a valid card"
        default: return "\(operation.rawValue.replacingOccurrences(of: "_", with: " ")) is not possible in the card's state"
        }
    }

    /// QRCODE (电子社保卡付款码): a payment token for an ACTIVE, unlocked card.
    public func issueQR(cardNo: String, by context: TerminalContext) -> Answer<QRIssued> {
        let date = date()
        return runner.transaction("QRCODE") { transaction in
            guard let holder = try transaction.lockCardholder(cardNo) else { return .failure(.noSuchCard) }
            if let refusal = CardRules.presentQR(holder.card).refusal { return .failure(.card(refusal)) }
            let (token, expires) = presenter.qrTokens.issue(cardNo: cardNo, now: clock.now())
            var writes = WriteSet(date: date)
            writes.event(.qrIssued, holder, by: context, detail: "expires=\(expires)")
            return try transaction.commit(writes, alone: true, answering: .success(QRIssued(token: token, expires: expires)))
        }
    }
}
