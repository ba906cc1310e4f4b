/// How the holder proved presence for a claim, as far as the decision needs to know: the PIN's
/// comparison is made by the caller (it needs the server secret), the QR token's signature and
/// lifetime were checked before the rows were read.
public enum PresentedCredential: Sendable, Equatable {
    case pin(matches: Bool)
    /// A verified QR token; `used` when `qr_use` already holds it.
    case qr(used: Bool)
    /// A QR token that did not verify (`QR_INVALID`, `QR_EXPIRED`).
    case badQR(ErrorCode)
}

/// What the decision reads of the holder and their card, all read with the holder's row locked.
public struct ClaimantState: Sendable, Equatable {
    /// The card presented (nil when a claim is priced without one: PRICE of an admission).
    public let card: CardState?
    public let insurance: InsuranceType
    /// The personal account balance; 0 for a person without an account.
    public let balance: Fen
    /// The year's accumulators for the claim's visit type.
    public let year: Accumulators
    /// Deductible already met in the claim's admission (0 outside one, and while one is open).
    public let admissionDeductibleMet: Fen
    /// The year across outpatient and inpatient claims, as the layers after the basic fund count it.
    public let layerYear: LayerYear
    /// Flagged for medical assistance.
    public let assist: Bool
    /// The family payer's balance when a payer stands bound to pay for this person (RULES.md §9).
    public let payerBalance: Fen?

    public init(card: CardState?, insurance: InsuranceType, balance: Fen, year: Accumulators, admissionDeductibleMet: Fen = 0,
                layerYear: LayerYear = LayerYear(), assist: Bool = false, payerBalance: Fen? = nil) {
        self.card = card
        self.insurance = insurance
        self.balance = balance
        self.year = year
        self.admissionDeductibleMet = admissionDeductibleMet
        self.layerYear = layerYear
        self.assist = assist
        self.payerBalance = payerBalance
    }
}

/// A claim as priced: its lines, visit type, where it is made and whether the account pays.
public struct ClaimTerms: Sendable, Equatable {
    public let lines: [ClaimLine]
    public let visit: VisitType
    /// The institution's level (0 for pharmacies).
    public let level: Int
    public let useAccount: Bool
    /// The lines' classification when they were classified before (`classified[i]` is line
    /// `i`'s: a discharge's fee lines keep the classification of their upload day); nil when the
    /// lines are looked up in the catalog in force.
    public let classified: [ItemClassification]?

    public init(lines: [ClaimLine], visit: VisitType, level: Int, useAccount: Bool, classified: [ItemClassification]? = nil) {
        precondition(classified.map { $0.count == lines.count } ?? true, "one classification per line")
        self.lines = lines
        self.visit = visit
        self.level = level
        self.useAccount = useAccount
        self.classified = classified
    }
}

/// Why a claim was refused.
public enum ClaimRefusal: Error, Sendable, Equatable {
    /// The card number names no card (`CARD_NOT_FOUND`), or the QR token's card is gone (`QR_INVALID`).
    case noSuchCard(viaQR: Bool)
    case card(CardRefusal)
    case qrUsed
    /// The QR token did not verify.
    case qr(ErrorCode)
    /// The card was accepted, but the claim cannot be made with it (a discharge with a card that is
    /// not the patient's, of a closed admission, of no fee lines): the caller's code and message.
    case inadmissible(ErrorCode, String)
    /// A line does not carry the traceability codes its catalog item requires (`BAD_REQUEST`):
    /// missing codes, a wrong count, a fractional quantity of a traced item, codes on an
    /// untraced one.
    case traceCodes(String)
    /// A code of the claim is already sold by a settlement that stands (`TRACE_CODE_USED`): the
    /// first such code in request order.
    case traceCodeUsed(TraceCode)
    /// The policy table has no row for the claim: a configuration gap (`INTERNAL`).
    case noPolicy(PolicyKey)
    case pricing(PricingError)
}

/// The one decision on a claim (PRICE, SETTLE, DISCHARGE; alone or in a batch): presentation,
/// pricing and payment from the rows read. Every path that settles calls it, so a claim is
/// decided the same way however it reached the database.
public struct ClaimDecision: Sendable, Equatable {
    /// The PIN bookkeeping to persist whatever the verdict (nil for a QR, or no card).
    public let presentation: CardPresentation?
    public let verdict: Result<PricedClaim, ClaimRefusal>

    /// Decides a claim. `claimant` is nil when no card was found. `admissible` is asked once the
    /// card is accepted and before pricing (DISCHARGE's checks of the admission), so that a wrong
    /// PIN is counted whatever else is wrong with the claim. `sold` holds those of the claim's
    /// traceability codes that a standing settlement has sold (RULES.md §10).
    ///
    /// The order of RULES.md §10: items known and their codes as the catalog requires, line by
    /// line in request order (bad input: nothing is presented or counted); the card or QR; the
    /// caller's own checks; codes already sold; pricing and payment.
    public static func decide(_ terms: ClaimTerms, credential: PresentedCredential, claimant: ClaimantState?,
                              reference: ReferenceData, sold: Set<TraceCode> = [],
                              admissible: () -> ClaimRefusal? = { nil }) -> ClaimDecision {
        if terms.classified == nil, let refusal = lineRefusal(terms.lines, catalog: reference.catalog) {
            return ClaimDecision(presentation: nil, verdict: .failure(refusal))
        }
        if case .badQR(let code) = credential {
            return ClaimDecision(presentation: nil, verdict: .failure(.qr(code)))
        }
        guard let claimant, let card = claimant.card else {
            if case .qr = credential { return ClaimDecision(presentation: nil, verdict: .failure(.noSuchCard(viaQR: true))) }
            return ClaimDecision(presentation: nil, verdict: .failure(.noSuchCard(viaQR: false)))
        }
        let presentation: CardPresentation?
        switch credential {
        case .pin(let matches):
            let decision = CardRules.present(card, pinMatches: matches)
            if let refusal = decision.refusal { return ClaimDecision(presentation: decision, verdict: .failure(.card(refusal))) }
            presentation = decision
        case .qr(let used):
            if let refusal = CardRules.presentQR(card).refusal {
                return ClaimDecision(presentation: nil, verdict: .failure(.card(refusal)))
            }
            if used { return ClaimDecision(presentation: nil, verdict: .failure(.qrUsed)) }
            presentation = nil
        case .badQR:
            preconditionFailure("refused above")
        }
        if let refusal = admissible() { return ClaimDecision(presentation: presentation, verdict: .failure(refusal)) }
        if let used = TraceCodeRules.firstSold(in: terms.lines, sold: sold) {
            return ClaimDecision(presentation: presentation, verdict: .failure(.traceCodeUsed(used)))
        }
        return ClaimDecision(presentation: presentation, verdict: price(terms, for: claimant, reference: reference))
    }

    /// The first line, in request order, naming an item not in the catalog (`UNKNOWN_ITEM`) or
    /// not carrying the codes its item requires; a line's item is checked before its codes.
    static func lineRefusal(_ lines: [ClaimLine], catalog: [String: CatalogItem]) -> ClaimRefusal? {
        for line in lines {
            guard let item = catalog[line.code] else { return .pricing(.unknownItem(code: line.code)) }
            if let problem = TraceCodeRules.problem(of: line, for: item) { return .traceCodes(problem) }
        }
        return nil
    }

    /// Prices a claim for a holder whose card was accepted (or, for PRICE of an admission, who
    /// presents none): the policy of the holder's insurance, the claim's visit type and the
    /// institution's level, with the deductible met where that policy says it counts.
    public static func price(_ terms: ClaimTerms, for claimant: ClaimantState, reference: ReferenceData) -> Result<PricedClaim, ClaimRefusal> {
        let key = PolicyKey(insurance: claimant.insurance, visit: terms.visit, level: terms.level)
        guard let policy = reference.policies[key] else { return .failure(.noPolicy(key)) }
        // The policy says where its deductible counts: this calendar year and visit type, or
        // this admission only.
        let met = policy.deductibleMet(thisYear: claimant.year.deductibleMet, thisAdmission: claimant.admissionDeductibleMet)
        let input = PricingInput(lines: terms.lines, policy: policy, deductibleMet: met, fundPaidThisYear: claimant.year.fundPaid,
                                 balance: claimant.balance, useAccount: terms.useAccount, benefit: reference.benefits[claimant.insurance],
                                 layerYear: claimant.layerYear, assist: claimant.assist, payerBalance: claimant.payerBalance)
        let priced = terms.classified.map { Pricing.price(input, classified: $0) } ?? Pricing.price(input, catalog: reference.catalog)
        return priced.mapError { .pricing($0) }
    }
}
