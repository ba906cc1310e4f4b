/// Everything pricing needs about the person and the moment, read by the caller (inside the
/// settlement's transaction for SETTLE, outside any for PRICE).
public struct PricingInput: Sendable, Equatable {
    public let lines: [ClaimLine]
    public let policy: Policy
    /// Deductible already met in the policy's scope: this calendar year and visit type (`year`),
    /// or this admission (`admission`).
    public let deductibleMet: Fen
    /// Fund already paid this person this calendar year for this visit type.
    public let fundPaidThisYear: Fen
    /// The personal account balance (0 for residents).
    public let balance: Fen
    /// `use_account=1` (the default): the account pays what it may.
    public let useAccount: Bool
    /// The layers after the basic fund for the person's insurance type (nil: they pay 0).
    public let benefit: Benefit?
    /// The person's year so far, as the layers count it.
    public let layerYear: LayerYear
    /// Flagged for medical assistance (`assist=1`).
    public let assist: Bool
    /// The balance of the account of the person's family payer (RULES.md §9), when one stands
    /// bound to pay for them; nil otherwise.
    public let payerBalance: Fen?

    public init(lines: [ClaimLine], policy: Policy, deductibleMet: Fen, fundPaidThisYear: Fen,
                balance: Fen, useAccount: Bool = true, benefit: Benefit? = nil, layerYear: LayerYear = LayerYear(),
                assist: Bool = false, payerBalance: Fen? = nil) {
        precondition(payerBalance.map { $0 >= 0 } ?? true, "a balance is never negative")
        self.lines = lines
        self.policy = policy
        self.deductibleMet = deductibleMet
        self.fundPaidThisYear = fundPaidThisYear
        self.balance = balance
        self.useAccount = useAccount
        self.benefit = benefit
        self.layerYear = layerYear
        self.assist = assist
        self.payerBalance = payerBalance
    }
}

/// One priced line, kept so the settlement can be recorded with its lines.
public struct PricedLine: Sendable, Equatable, Hashable {
    public let line: ClaimLine
    public let itemClass: ItemClass
    /// `round(qty × price)`.
    public let amount: Fen
    /// Fully self-paid: the whole amount for class C, the over-limit part for A and B.
    public let selfpayFull: Fen
    /// First self-paid: the class B share of the within-limit base.
    public let selfpayFirst: Fen

    /// The line's in-scope part.
    public var inscope: Fen { amount - selfpayFull - selfpayFirst }
}

/// A priced claim: its lines, its split and the account balance after it.
public struct PricedClaim: Sendable, Equatable, Hashable {
    public let lines: [PricedLine]
    public let split: Split
    /// `balance − account`.
    public let balanceAfter: Fen

    /// What settling this claim adds to the person's accumulators of `visit`.
    public func accumulatorDelta(visit: VisitType) -> Accumulators {
        Accumulators.delta(of: split, visit: visit)
    }
}

/// Why a claim could not be priced.
public enum PricingError: Error, Sendable, Equatable {
    /// A line names a code that is not in the catalog (`UNKNOWN_ITEM item=`).
    case unknownItem(code: String)
    /// A price or quantity outside `Pricing`'s bounds (or negative), or a figure that would not
    /// fit in 64 bits. The protocol layer answers `BAD_REQUEST`.
    case amountTooLarge

    public var errorCode: ErrorCode {
        switch self {
        case .unknownItem: return .unknownItem
        case .amountTooLarge: return .badRequest
        }
    }
}
