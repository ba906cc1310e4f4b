/// Why a card was refused when presented (RULES.md §2 precedence, §3). Each maps to one wire
/// error code; `PIN_WRONG` also carries the attempts left.
public enum CardRefusal: Error, Sendable, Equatable, Hashable {
    case cancelled
    case replaced
    case lost
    case locked
    case pinWrong(left: Int)
    case pinChangeRequired
    case pinWeak

    public var code: ErrorCode {
        switch self {
        case .cancelled: return .cardCancelled
        case .replaced: return .cardReplaced
        case .lost: return .cardLost
        case .locked: return .cardLocked
        case .pinWrong: return .pinWrong
        case .pinChangeRequired: return .pinChangeRequired
        case .pinWeak: return .pinWeak
        }
    }

    /// The `left=` field of a `PIN_WRONG` reply.
    public var attemptsLeft: Int? {
        if case .pinWrong(let left) = self { return left }
        return nil
    }
}

/// The decision on one presentation of a card (with PIN, with QR, or for a PIN change): the reply
/// and what the store must persist and log, all in one transaction with the card's row locked.
public struct CardPresentation: Sendable, Equatable, Hashable {
    /// Nil when accepted; otherwise the error to answer.
    public let refusal: CardRefusal?
    /// The wrong-PIN count to store, or nil when it does not change.
    public let newWrongCount: Int?
    /// A wrong PIN was counted: log a PIN-failure event (also on the locking 6th).
    public let pinFailed: Bool
    /// This attempt locked the card (the 6th wrong PIN): log a lock event. It must be persisted
    /// even though the reply is an error.
    public let lockedNow: Bool
    /// For an accepted PIN change only: the new status (ACTIVE) to store with the new PIN's hash.
    public let newStatus: CardStatus?

    public init(refusal: CardRefusal?, newWrongCount: Int? = nil, pinFailed: Bool = false,
                lockedNow: Bool = false, newStatus: CardStatus? = nil) {
        self.refusal = refusal
        self.newWrongCount = newWrongCount
        self.pinFailed = pinFailed
        self.lockedNow = lockedNow
        self.newStatus = newStatus
    }

    public var isAccepted: Bool { refusal == nil }

    /// Whether the store has anything to write (count, status) for this decision.
    public var changesCard: Bool { newWrongCount != nil || newStatus != nil }
}
