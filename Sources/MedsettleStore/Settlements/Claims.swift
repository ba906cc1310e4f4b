import MedsettleCore
import PGClient

/// A claim with its credential resolved as far as it can be before any row is read.
struct ClaimMember: Sendable {
    /// A card number with its PIN, a QR token verified (naming its card), or one that did not verify.
    enum Presented: Sendable {
        case card(number: String, pin: String)
        case qr(QRTokens.Verified)
        case badQR(ErrorCode)
    }

    let claim: ClaimRequest
    let context: TerminalContext
    let presented: Presented

    init(claim: ClaimRequest, context: TerminalContext, now: Int64, tokens: QRTokens) {
        self.claim = claim
        self.context = context
        switch claim.credential {
        case .card(let number, let pin):
            presented = .card(number: number, pin: pin)
        case .qr(let qr):
            switch tokens.verify(qr, now: now) {
            case .success(let verified): presented = .qr(verified)
            case .failure(let code): presented = .badQR(code)
            }
        }
    }

    /// The same credential, already resolved, for another claim (a discharge's fee lines).
    init(claim: ClaimRequest, resolved: ClaimMember) {
        self.claim = claim
        context = resolved.context
        presented = resolved.presented
    }

    /// The card the claim names, by number or by a verified QR token.
    var cardNo: String? {
        switch presented {
        case .card(let number, _): return number
        case .qr(let token): return token.cardNo
        case .badQR: return nil
        }
    }

    /// The token's id as a `qr_use` look-up wants it.
    var tokens: [PGBytes] {
        if case .qr(let token) = presented { return [PGBytes(token.tokenID)] }
        return []
    }
}

/// The rows claims are decided on, read with their holders (and their family payers) locked.
struct ClaimRows {
    let holders: [String: Cardholder]
    /// Each holder's family payer whose account may pay for them now (RULES.md §9), by the
    /// holder's person id: a standing binding whose payer's row was locked with the holders.
    let payers: [Int64: HolderRow]
    let accumulators: YearAccumulators
    let usedTokens: Set<[UInt8]>
    /// The claims' traceability codes that standing settlements have sold.
    let soldCodes: Set<TraceCode>

    /// From the results of `CardholderSQL.lockClaimants`, `readClaimants`, `qrUsed` and
    /// `TraceCodeSQL.sold`.
    init(_ locked: [HolderRow], _ claimants: [ClaimantRow], _ used: [UsedToken], _ sold: [SoldCode] = []) {
        var byID: [Int64: HolderRow] = [:]
        for row in locked { byID[row.id] = row }
        // A card comes once per accumulator of its holder's year.
        var seen = Set<String>()
        var cards: [CardRow] = []
        var payers: [Int64: HolderRow] = [:]
        for row in claimants where seen.insert(row.card.cardNo).inserted {
            cards.append(row.card)
            // Bound after the locking statement's snapshot: its payer was not locked, so this
            // claim comes before the binding.
            guard let payerID = row.payer, let payer = byID[payerID], payer.paysForMembers else { continue }
            payers[row.card.personID] = payer
        }
        holders = cardholders(locked, cards)
        self.payers = payers
        self.accumulators = YearAccumulators(claimants.compactMap(\.accumulator))
        usedTokens = Set(used.map(\.tokenID))
        soldCodes = Set(sold.map(\.code))
    }
}

/// One row of `CardholderSQL.readClaimants`: a card, its holder's standing family payer, and one
/// of the holder's accumulators of the year.
struct ClaimantRow: PGRowDecodable {
    let card: CardRow
    let payer: Int64?
    let accumulator: AccumulatorRow?

    init(_ row: inout PGRow) {
        card = CardRow(&row)
        payer = row("payer_id")
        let visit: VisitType? = row("visit")
        let met: Fen? = row("deductible_met"), paid: Fen? = row("fund_paid"), burden: Fen? = row("burden")
        let illness: Fen? = row("illness_paid"), assist: Fen? = row("assist_paid")
        if let visit, let met, let paid, let burden, let illness, let assist {
            accumulator = AccumulatorRow(personID: card.personID, visit: visit, year: Accumulators(
                deductibleMet: met, fundPaid: paid, burden: burden, illnessPaid: illness, assistPaid: assist))
        } else {
            accumulator = nil
        }
    }
}

/// The catalog and policy versions that priced a settlement (RULES.md §7: recorded with it).
struct PricingVersions: Sendable, Equatable {
    let catalog: Int
    let policy: Int
}

/// A claim priced for its holder (who carries the QR token to use up, if one was presented).
struct PricedFor {
    let claim: PricedClaim
    let holder: Cardholder
    let versions: PricingVersions
    /// The family payer whose account pays `claim.split.aid`; nil when no aid is paid.
    let aidPayer: Int64?
}

/// Decides claims from the rows read: PRICE, each claim of a settlement round, DISCHARGE.
struct ClaimDecider: Sendable {
    let presenter: CardPresenter
    let reference: ReferenceBook

    /// The catalog and policy in force on `date`, or BAD_STATE when none is (RULES.md §12).
    func reference(on date: BusinessDate) -> Answer<ReferenceData> {
        guard let data = reference.reference(on: date) else {
            return .failure(Refusal(.badState, "no catalog and policy version is in force on \(date.yyyymmdd)"))
        }
        return .success(data)
    }

    /// Decides one claim (`ClaimDecision`, the one decision every claim path takes) on the
    /// catalog and policy in force on the claim's business date (`writes.date`), putting its PIN
    /// bookkeeping into `writes`. Without a version in force nothing is presented or counted.
    /// `catalogVersion` overrides the version recorded when the lines were classified before
    /// (a discharge's fee lines).
    func decide(_ member: ClaimMember, _ rows: ClaimRows, writes: inout WriteSet, catalogVersion: Int? = nil,
                admissible: (Cardholder) -> ClaimRefusal? = { _ in nil }) -> Answer<PricedFor> {
        let reference: ReferenceData
        switch self.reference(on: writes.date) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let data): reference = data
        }
        let versions = PricingVersions(catalog: catalogVersion ?? reference.catalogVersion, policy: reference.policyVersion)
        var holder = member.cardNo.flatMap { rows.holders[$0] }
        let credential: PresentedCredential
        switch member.presented {
        case .card(_, let pin):
            credential = .pin(matches: holder.map { presenter.pinMatches(pin, $0) } ?? false)
        case .qr(let token):
            credential = .qr(used: rows.usedTokens.contains(token.tokenID))
            holder?.qr = token
        case .badQR(let code):
            credential = .badQR(code)
        }
        let payer = holder.flatMap { rows.payers[$0.personID] }
        let claimant = holder.map {
            $0.claimant(year: rows.accumulators[$0.personID, member.claim.visit], layers: rows.accumulators.layers(of: $0.personID),
                        payerBalance: payer?.balance)
        }
        let decision = ClaimDecision.decide(member.claim.terms(at: member.context), credential: credential, claimant: claimant,
                                            reference: reference, sold: rows.soldCodes, admissible: { holder.flatMap(admissible) })
        if let holder { writes.record(decision.presentation, holder: holder, by: member.context) }
        switch decision.verdict {
        case .failure(let refusal): return .failure(Refusal.claim(refusal, presentation: decision.presentation))
        case .success(let priced):
            guard let holder else { preconditionFailure("a claim is priced for a holder") }
            return .success(PricedFor(claim: priced, holder: holder, versions: versions, aidPayer: priced.split.aid > 0 ? payer?.id : nil))
        }
    }
}
