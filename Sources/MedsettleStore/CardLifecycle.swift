import MedsettleCore
import PGClient

/// The window, hotline and online card services of RULES.md §2: unlock, PIN reset, report lost,
/// release loss, replace, cancel — each decided by `CardRules.apply` and written in one transaction
/// with the holder's row locked, and logged with the terminal, channel and proxy agent.
enum CardLifecycleSQL {
    static let cardOf = PGStatement("card_of_person", """
        SELECT person_id, status, wrong_count, status_before_loss FROM card WHERE card_no = $1
        """)
    static let updateCard = PGStatement("update_card_state", """
        UPDATE card SET status = $2, wrong_count = $3, status_before_loss = $4, updated_at = now()
        WHERE card_no = $1
        """)
    static let linkReplacement = PGStatement("link_replacement", """
        UPDATE card SET replaced_by = $2 WHERE card_no = $1
        """)
    static let resetPIN = PGStatement("reset_pin", """
        UPDATE card SET pin_salt = $2, pin_hash = $3, updated_at = now() WHERE card_no = $1
        """)
    static let endInsurance = PGStatement("end_insurance", """
        UPDATE person SET insured = false, payout = balance, balance = 0, updated_at = now()
        WHERE id = $1 RETURNING payout
        """)
    static let personByIDNo = PGStatement("person_by_id_no", "SELECT 1 FROM person WHERE id_no = $1")
    static let updatePerson = PGStatement("update_person", """
        UPDATE person SET name = coalesce($2, name), id_no = coalesce($3, id_no), updated_at = now() WHERE id = $1
        """)
    static let latestCard = PGStatement("latest_card_no", """
        SELECT card_no FROM card WHERE person_id = $1 ORDER BY issued_at DESC, card_no DESC LIMIT 1
        """)
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

extension Store {
    /// Applies a card operation (not `.issue`, which names no card) for the named holder.
    public func cardService(_ operation: CardOperation, _ request: CardServiceRequest, by context: TerminalContext) -> Outcome {
        precondition(operation != .issue, "ISSUE names no card; see issue(idNo:)")
        return perform(operation.rawValue) { connection in
            try connection.transaction {
                let person = try connection.query(EnrolmentSQL.lockPerson, [request.idNo])
                guard person.rowCount == 1 else { return .refused(.personNotFound, "no person with this ID number") }
                let personID = try person.requireInt64(0, 0)
                let card = try connection.query(CardLifecycleSQL.cardOf, [request.cardNo])
                guard card.rowCount == 1, try card.requireInt64(0, 0) == personID,
                      let status = CardStatus(rawValue: try card.requireString(0, 1)) else {
                    return .refused(.cardNotFound, "this card is not held by this person")
                }
                let state = CardState(status: status, wrongCount: try card.requireInt(0, 2),
                                      statusBeforeLoss: card.string(0, 3).flatMap(CardStatus.init(rawValue:)))
                let transition: CardTransition
                switch CardRules.apply(operation, to: state) {
                case .failure(let code): return .refused(code, Self.refusalMessage(code, operation))
                case .success(let value): transition = value
                }
                return try apply(transition, operation, request, personID: personID, connection, by: context)
            }
        }
    }

    private func apply(_ transition: CardTransition, _ operation: CardOperation, _ request: CardServiceRequest,
                       personID: Int64, _ connection: PGConnection, by context: TerminalContext) throws -> Outcome {
        // The old card stops being valid before the new one exists: one valid card per person.
        if let after = transition.card {
            try connection.query(CardLifecycleSQL.updateCard, [request.cardNo, after.status.rawValue, after.wrongCount,
                                                                after.statusBeforeLoss?.rawValue])
        }
        var replacement: String?
        if transition.newCard != nil {
            let cardNo = try newCard(connection, personID: personID)
            try connection.query(CardLifecycleSQL.linkReplacement, [request.cardNo, cardNo])
            replacement = cardNo
        }
        if transition.resetsPIN {
            let salt = randomBytes(16)
            try connection.query(CardLifecycleSQL.resetPIN, [request.cardNo, PGBytes(salt),
                                                             PGBytes(secrets.pinHash(salt: salt, cardNo: request.cardNo, pin: PinPolicy.initialPIN))])
        }
        var fields: [(String, String)] = []
        var detail = request.reason.map { "reason=\($0)" }
        switch operation {
        case .replace:
            guard let replacement else { preconditionFailure("a replacement creates a card") }
            fields = [("card", replacement), ("status", CardStatus.pending.rawValue)]
            detail = [detail, "new_card=\(replacement)"].compactMap { $0 }.joined(separator: " ")
            try logCardEvent(connection, cardNo: replacement, personID: personID, event: "issued",
                             by: context, agent: request.agent, detail: "replaces=\(request.cardNo)")
        case .cancel:
            let payout = try connection.query(CardLifecycleSQL.endInsurance, [personID]).requireInt64(0, 0)
            fields = [("status", CardStatus.cancelled.rawValue), ("payout", String(payout))]
            detail = [detail, "payout=\(payout)"].compactMap { $0 }.joined(separator: " ")
        default:
            fields = [("status", (transition.card?.status ?? .pending).rawValue)]
        }
        try logCardEvent(connection, cardNo: request.cardNo, personID: personID, event: operation.rawValue,
                         by: context, agent: request.agent, detail: detail)
        return .ok(fields)
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

    /// PERSONUPDATE (信息变更): a new name and/or ID number; the current card keeps working.
    public func updatePerson(idNo: String, name: String?, newIDNo: String?, agent: String?, by context: TerminalContext) -> Outcome {
        perform("PERSONUPDATE") { connection in
            try connection.transaction {
                let person = try connection.query(EnrolmentSQL.lockPerson, [idNo])
                guard person.rowCount == 1 else { return .refused(.personNotFound, "no person with this ID number") }
                let personID = try person.requireInt64(0, 0)
                if let newIDNo, newIDNo != idNo,
                   try connection.query(CardLifecycleSQL.personByIDNo, [newIDNo]).rowCount > 0 {
                    return .refused(.personExists, "another person has the new ID number")
                }
                try connection.query(CardLifecycleSQL.updatePerson, [personID, name, newIDNo])
                let card = try connection.query(CardLifecycleSQL.latestCard, [personID])
                var changes: [String] = []
                if name != nil { changes.append("name") }
                if let newIDNo { changes.append("id_no \(idNo)→\(newIDNo)") }
                try logCardEvent(connection, cardNo: card.rowCount == 1 ? try card.requireString(0, 0) : nil,
                                 personID: personID, event: "person_updated", by: context, agent: agent,
                                 detail: changes.joined(separator: ", "))
                return .ok([("person", newIDNo ?? idNo)])
            }
        }
    }

    /// QRCODE (电子社保卡付款码): a payment token for an ACTIVE, unlocked card.
    public func issueQR(cardNo: String, by context: TerminalContext) -> Outcome {
        perform("QRCODE") { connection in
            try connection.transaction {
                guard let holder = try lockCardholder(connection, cardNo: cardNo) else {
                    return .refused(.cardNotFound, "no such card")
                }
                if let refusal = CardRules.presentQR(holder.card).refusal { return Self.outcome(for: refusal) }
                let (token, expires) = qrTokens.issue(cardNo: cardNo, now: clock.now())
                try logCardEvent(connection, cardNo: cardNo, personID: holder.personID, event: "qr_issued",
                                 by: context, detail: "expires=\(expires)")
                return .ok([("qr", token), ("expires", String(expires))])
            }
        }
    }
}
