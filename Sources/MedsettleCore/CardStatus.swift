/// A card's lifecycle status (RULES.md §2). The raw value is the wire and database word.
/// Being locked is not a status: it is a wrong-PIN count of 6, kept alongside (`CardState`).
public enum CardStatus: String, Sendable, CaseIterable, Hashable {
    /// Issued (or PIN reset); the initial PIN must be changed before any other use.
    case pending = "PENDING"
    case active = "ACTIVE"
    /// Reported lost; a window may release the loss back to the status it had.
    case lost = "LOST"
    /// Superseded by a new card. Final.
    case replaced = "REPLACED"
    /// The person's insurance ended. Final.
    case cancelled = "CANCELLED"

    /// No operation leads out of a final status.
    public var isFinal: Bool { self == .replaced || self == .cancelled }

    /// Whether this is the person's one valid card (RULES.md §1: at most one at a time). A lost
    /// card still counts: it can be released, and a second card would break the one-card rule.
    public var isValid: Bool { !isFinal }
}

/// What the rules need to know about a card: its status, its consecutive wrong-PIN count and,
/// while LOST, the status a release of the loss returns to.
public struct CardState: Sendable, Equatable, Hashable {
    public let status: CardStatus
    /// Consecutive wrong PINs, 0…6; 6 means locked.
    public let wrongCount: Int
    /// While `status == .lost`: the status before the loss (PENDING or ACTIVE). Nil otherwise.
    public let statusBeforeLoss: CardStatus?

    /// A LOST card must say what it was before (the store keeps a column with a CHECK for it);
    /// for any other status the value is meaningless and dropped, so equal states compare equal.
    public init(status: CardStatus, wrongCount: Int = 0, statusBeforeLoss: CardStatus? = nil) {
        precondition((0...PinPolicy.lockThreshold).contains(wrongCount), "wrong-PIN count is 0…6")
        if status == .lost {
            precondition(statusBeforeLoss == .pending || statusBeforeLoss == .active,
                         "a LOST card remembers whether it was PENDING or ACTIVE")
            self.statusBeforeLoss = statusBeforeLoss
        } else {
            self.statusBeforeLoss = nil
        }
        self.status = status
        self.wrongCount = wrongCount
    }

    /// Locked after the 6th consecutive wrong PIN, until a window unlocks or resets it.
    public var isLocked: Bool { wrongCount >= PinPolicy.lockThreshold }

    /// A freshly issued card, and the new card of a replacement: PENDING, PIN `123456`, count 0.
    public static let newCard = CardState(status: .pending)
}
