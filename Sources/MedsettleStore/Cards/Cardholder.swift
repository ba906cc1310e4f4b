import MedsettleCore
import PGClient

/// A person and one of their cards, read with the person's row locked.
struct Cardholder: Sendable {
    let personID: Int64
    let idNo: String
    let name: String
    let insurance: InsuranceType
    let hasAccount: Bool
    /// The account balance as stored (0 for a person without an account).
    let balance: Fen
    let insured: Bool
    /// Flagged for medical assistance (RULES.md §8).
    let assist: Bool
    let cardNo: String
    let card: CardState
    let pinSalt: [UInt8]
    let pinHash: [UInt8]
    /// The QR token the holder presented, to be used up when the operation succeeds.
    var qr: QRTokens.Verified? = nil

    init(person: HolderRow, card: CardRow) {
        precondition(person.id == card.personID, "a card is read with its own holder")
        personID = person.id
        idNo = person.idNo
        name = person.name
        insurance = person.insurance
        hasAccount = person.hasAccount
        balance = person.balance
        insured = person.insured
        assist = person.assist
        cardNo = card.cardNo
        self.card = CardState(status: card.status, wrongCount: card.wrongCount, statusBeforeLoss: card.statusBeforeLoss)
        pinSalt = card.pinSalt
        pinHash = card.pinHash
    }

    /// What a claim's decision reads of the holder, with the year's accumulators of its visit
    /// type and the year as the layers after the basic fund count it.
    /// `payerBalance`: the balance of the family payer who may pay for the holder (RULES.md §9).
    func claimant(year: Accumulators, layers: LayerYear, admissionDeductibleMet: Fen = 0, payerBalance: Fen? = nil) -> ClaimantState {
        ClaimantState(card: card, insurance: insurance, balance: hasAccount ? balance : 0, year: year,
                      admissionDeductibleMet: admissionDeductibleMet, layerYear: layers, assist: assist, payerBalance: payerBalance)
    }
}

/// A person's row as the card verbs read it (`person`).
struct HolderRow: PGRowDecodable, Sendable {
    let id: Int64
    let idNo: String
    let name: String
    let insurance: InsuranceType
    let hasAccount: Bool
    let balance: Fen
    let insured: Bool
    let assist: Bool

    init(_ row: inout PGRow) {
        id = row("id")
        idNo = row("id_no")
        name = row("name")
        insurance = row("insurance")
        hasAccount = row("has_account")
        balance = row("balance")
        insured = row("insured")
        assist = row("assist")
    }
}

/// A card's row (`card`).
struct CardRow: PGRowDecodable, Sendable {
    let cardNo: String
    let personID: Int64
    let status: CardStatus
    let wrongCount: Int
    let statusBeforeLoss: CardStatus?
    let pinSalt: [UInt8]
    let pinHash: [UInt8]

    init(_ row: inout PGRow) {
        cardNo = row("card_no")
        personID = row("person_id")
        status = row("status")
        wrongCount = row("wrong_count")
        statusBeforeLoss = row("status_before_loss")
        pinSalt = row("pin_salt")
        pinHash = row("pin_hash")
    }

    var state: CardState { CardState(status: status, wrongCount: wrongCount, statusBeforeLoss: statusBeforeLoss) }
}

/// The locking discipline of every card-presenting verb (no deadlocks, no lost updates): the
/// holders of the named cards are locked (`FOR UPDATE`, in person-id order, so that two
/// transactions locking several never deadlock), and the cards are read by a second statement,
/// after the locks are held, so that they reflect every transaction that held a lock before
/// (READ COMMITTED takes a new snapshot per statement; a join in the locking statement could see a
/// stale card row). Each is one index look-up per card, whatever the statistics say.
enum CardholderSQL {
    static let lockHolders = PGStatement<HolderRow, PGArray<String>>("lock_holders_of_cards", """
        SELECT id, id_no, name, insurance, has_account, balance, insured, assist FROM person
        WHERE id = ANY(ARRAY(SELECT person_id FROM card WHERE card_no = ANY($1::text[])))
        ORDER BY id FOR UPDATE
        """)
    /// The holders of the named cards and, for a claim, their standing family payers (RULES.md
    /// §9: member and payer locked together), all in person-id order. Every step is an index
    /// look-up (`= ANY(ARRAY(…))` keeps the generic plan from joining: a join of the bindings
    /// with the cards was planned as a scan, ~900 buffers a round at 20 000 people), and each
    /// holder's binding a `LATERAL … LIMIT 1` look-up in the standing-member index (as
    /// `member_id = ANY(…)`, the generic plan read every standing binding of the city through the
    /// payer index and filtered them: 0.19 ms a round at 1 000 bindings, growing with each family).
    static let lockClaimants = PGStatement<HolderRow, PGArray<String>>("lock_claimants_of_cards", """
        WITH holders AS (SELECT person_id FROM card WHERE card_no = ANY($1::text[]))
        SELECT id, id_no, name, insurance, has_account, balance, insured, assist FROM person
        WHERE id = ANY(ARRAY(
            SELECT person_id FROM holders
            UNION ALL
            SELECT b.payer_id FROM holders h CROSS JOIN LATERAL (
                SELECT payer_id FROM family_binding WHERE member_id = h.person_id AND ended_at IS NULL LIMIT 1) b))
        ORDER BY id FOR UPDATE
        """)
    /// What a claim reads once its holders are locked (`lockClaimants`), in one statement: each
    /// named card, its holder's standing family payer, and the holder's accumulators of the year
    /// (`$2`), a row per accumulator (one row with NULL accumulator columns when there is none).
    /// Each card's binding and accumulators are look-ups of their own (`LATERAL`; `OFFSET 0` keeps
    /// the accumulators' from being pulled up into a join, which a generic plan made while the
    /// table was small could run as a hash join over all of it); the binding is the `LIMIT 1`
    /// look-up of `lockClaimants` (a binding whose payer that statement did not lock, because it
    /// was bound meanwhile, is not honoured: `ClaimRows`).
    static let readClaimants = PGStatement<ClaimantRow, PGArray<String>, Int64>("read_claimants_of_cards", """
        SELECT c.card_no, c.person_id, c.status, c.wrong_count, c.status_before_loss, c.pin_salt, c.pin_hash,
               b.payer_id, a.visit, a.deductible_met, a.fund_paid, a.burden, a.illness_paid, a.assist_paid
        FROM card c
        LEFT JOIN LATERAL (
            SELECT payer_id FROM family_binding WHERE member_id = c.person_id AND ended_at IS NULL LIMIT 1) b ON true
        LEFT JOIN LATERAL (
            SELECT visit, deductible_met, fund_paid, burden, illness_paid, assist_paid FROM accumulator
            WHERE person_id = c.person_id AND year = $2 OFFSET 0) a ON true
        WHERE c.card_no = ANY($1::text[])
        """)
    static let readCards = PGStatement<CardRow, PGArray<String>>("read_cards", """
        SELECT card_no, person_id, status, wrong_count, status_before_loss, pin_salt, pin_hash
        FROM card WHERE card_no = ANY($1::text[])
        """)
    /// Locks a person by row id (to undo a settlement, or price a stay, without a card).
    static let lockPerson = PGStatement<HolderRow, Int64>("lock_person_by_id", """
        SELECT id, id_no, name, insurance, has_account, balance, insured, assist FROM person WHERE id = $1 FOR UPDATE
        """)
    /// Locks persons by row id, in person-id order (to undo a settlement with its family payer).
    static let lockPersons = PGStatement<HolderRow, PGArray<Int64>>("lock_persons_by_id", """
        SELECT id, id_no, name, insurance, has_account, balance, insured, assist FROM person
        WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE
        """)
    static let qrUsed = PGStatement<UsedToken, PGArray<PGBytes>>("qr_used", """
        SELECT token_id FROM qr_use WHERE token_id = ANY($1::bytea[])
        """)

    /// Which of `tokens` were used (not sent when there are none: a round of card payments).
    static func qrUsed(tokens: [PGBytes]) -> PGBound<UsedToken> {
        tokens.isEmpty ? .noRows : qrUsed(PGArray(tokens))
    }
}

struct UsedToken: PGRowDecodable {
    let tokenID: [UInt8]
    init(_ row: inout PGRow) { tokenID = row("token_id") }
}

/// Holders by card number, from the rows of `CardholderSQL.lockHolders` and `readCards`. A card
/// whose holder was not locked is left out, as if it did not exist: it was committed (ISSUE,
/// REPLACE) between the two statements' snapshots, and is not this transaction's to use.
func cardholders(_ holders: [HolderRow], _ cards: [CardRow]) -> [String: Cardholder] {
    var byID: [Int64: HolderRow] = [:]
    for holder in holders { byID[holder.id] = holder }
    var found: [String: Cardholder] = [:]
    for card in cards {
        guard let holder = byID[card.personID] else { continue }
        found[card.cardNo] = Cardholder(person: holder, card: card)
    }
    return found
}

extension PGTransaction {
    /// Locks the holder of `cardNo` and reads the card (one round trip); nil when no such card.
    func lockCardholder(_ cardNo: String) throws -> Cardholder? {
        let (holders, cards) = try pipeline(CardholderSQL.lockHolders(PGArray([cardNo])), CardholderSQL.readCards(PGArray([cardNo])))
        return cardholders(holders, cards)[cardNo]
    }
}

/// Presents a credential for a verb that names a card but is no claim (CARDINFO, PINCHANGE's
/// holder, ADMIT), with the server secret that compares PINs and the keys that open QR tokens.
struct CardPresenter: Sendable {
    let secrets: ServerSecrets
    let qrTokens: QRTokens
    let clock: any Clock

    /// Verifies the credential with the holder locked; the PIN bookkeeping goes into `writes`,
    /// which the caller commits whatever the answer (a wrong PIN is counted).
    func present(_ credential: Credential, _ transaction: borrowing PGTransaction, writes: inout WriteSet,
                 by context: TerminalContext) throws -> Answer<Cardholder> {
        switch credential {
        case .qr(let token):
            let verified: QRTokens.Verified
            switch qrTokens.verify(token, now: clock.now()) {
            case .failure(let code): return .failure(.qr(code))
            case .success(let value): verified = value
            }
            guard var holder = try transaction.lockCardholder(verified.cardNo) else {
                return .failure(Refusal(.qrInvalid, "QR code names no card"))
            }
            if let refusal = CardRules.presentQR(holder.card).refusal { return .failure(.card(refusal)) }
            // Read after the holder's lock: a concurrent use of the same token has committed by now.
            if try !transaction.query(CardholderSQL.qrUsed(PGArray([PGBytes(verified.tokenID)]))).isEmpty {
                return .failure(Refusal(.qrUsed, "QR code has already been used"))
            }
            holder.qr = verified
            return .success(holder)
        case .card(let number, let pin):
            guard let holder = try transaction.lockCardholder(number) else { return .failure(.noSuchCard) }
            let decision = CardRules.present(holder.card, pinMatches: pinMatches(pin, holder))
            writes.record(decision, holder: holder, by: context)
            if let refusal = Refusal.presentation(decision) { return .failure(refusal) }
            return .success(holder)
        }
    }

    func pinMatches(_ pin: String, _ holder: Cardholder) -> Bool {
        secrets.pinMatches(pin, salt: holder.pinSalt, cardNo: holder.cardNo, hash: holder.pinHash)
    }
}
