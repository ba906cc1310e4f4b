import MedsettleCore
import PGClient

enum CardServiceSQL {
    static let latestCardOf = PGStatement("latest_card_of", """
        SELECT status, wrong_count, status_before_loss FROM card
        WHERE person_id = $1 ORDER BY issued_at DESC, card_no DESC LIMIT 1
        """)
    static let nextCardNo = PGStatement("next_card_no", """
        SELECT chr(65 + (n / 100000000)::int) || lpad((n % 100000000)::text, 8, '0') FROM nextval('card_no_seq') AS n
        """)
    static let insertCard = PGStatement("insert_card", """
        INSERT INTO card (card_no, person_id, status, pin_salt, pin_hash) VALUES ($1, $2, 'PENDING', $3, $4)
        """)
    static let changePIN = PGStatement("change_pin", """
        UPDATE card SET status = $2, wrong_count = 0, pin_salt = $3, pin_hash = $4, updated_at = now()
        WHERE card_no = $1
        """)
}

extension Store {
    /// ISSUE (申领): a first card for a person with no valid card; PENDING with PIN 123456.
    public func issue(idNo: String, agent: String?, by context: TerminalContext) -> Outcome {
        perform("ISSUE") { connection in
            try connection.transaction {
                let person = try connection.query(EnrolmentSQL.lockPerson, [idNo])
                guard person.rowCount == 1 else { return .refused(.personNotFound, "no person with this ID number") }
                let personID = try person.requireInt64(0, 0)
                guard try person.requireBool(0, 2) else {
                    return .refused(.badState, "this person's insurance has ended")
                }
                let latest = try connection.query(CardServiceSQL.latestCardOf, [personID])
                var latestState: CardState?
                if latest.rowCount == 1, let status = CardStatus(rawValue: try latest.requireString(0, 0)) {
                    latestState = CardState(status: status, wrongCount: try latest.requireInt(0, 1),
                                            statusBeforeLoss: latest.string(0, 2).flatMap(CardStatus.init(rawValue:)))
                }
                if case .failure(let code) = CardRules.issue(latest: latestState) {
                    return .refused(code, code == .cardExists ? "this person already has a valid card" : "no card can be issued to this person")
                }
                let cardNo = try newCard(connection, personID: personID)
                try logCardEvent(connection, cardNo: cardNo, personID: personID, event: "issued", by: context, agent: agent)
                return .ok([("card", cardNo), ("status", CardStatus.pending.rawValue)])
            }
        }
    }

    /// Inserts a new PENDING card with the initial PIN and returns its number.
    func newCard(_ connection: PGConnection, personID: Int64) throws -> String {
        let cardNo = try connection.query(CardServiceSQL.nextCardNo).requireString(0, 0)
        let salt = randomBytes(16)
        let hash = secrets.pinHash(salt: salt, cardNo: cardNo, pin: PinPolicy.initialPIN)
        try connection.query(CardServiceSQL.insertCard, [cardNo, personID, PGBytes(salt), PGBytes(hash)])
        return cardNo
    }

    /// PINCHANGE (修改密码): old PIN checked (and counted) as any presentation; the new one must
    /// not be weak. The card becomes ACTIVE.
    public func changePIN(cardNo: String, oldPIN: String, newPIN: String, by context: TerminalContext) -> Outcome {
        perform("PINCHANGE") { connection in
            try connection.transaction {
                guard let holder = try lockCardholder(connection, cardNo: cardNo) else {
                    return .refused(.cardNotFound, "no such card")
                }
                let matches = secrets.pinMatches(oldPIN, salt: holder.pinSalt, cardNo: cardNo, hash: holder.pinHash)
                let decision = CardRules.changePIN(holder.card, oldPINMatches: matches, oldPIN: oldPIN, newPIN: newPIN)
                guard decision.refusal == nil, let status = decision.newStatus else {
                    try record(decision, holder: holder, connection, by: context)
                    return Self.refusal(of: decision) ?? Self.outcome(for: .pinWeak)
                }
                let salt = randomBytes(16)
                let hash = secrets.pinHash(salt: salt, cardNo: cardNo, pin: newPIN)
                try connection.query(CardServiceSQL.changePIN, [cardNo, status.rawValue, PGBytes(salt), PGBytes(hash)])
                try logCardEvent(connection, cardNo: cardNo, personID: holder.personID, event: "pin_changed", by: context)
                return .ok([("status", status.rawValue)])
            }
        }
    }

    /// CARDINFO (1101): the card and its holder, after the credential is verified.
    public func cardInfo(_ credential: Credential, by context: TerminalContext) -> Outcome {
        perform("CARDINFO") { connection in
            try connection.transaction {
                switch try present(connection, credential, by: context) {
                case .failure(let outcome): return outcome
                case .success(let holder):
                    return .ok([("card", holder.cardNo), ("person", holder.idNo), ("name", holder.name),
                                ("insurance", holder.insurance.rawValue), ("status", holder.card.status.rawValue),
                                ("balance", String(holder.balance))])
                }
            }
        }
    }
}
