/// The service operations on a card done at a window, the 12333 hotline or online (RULES.md §2
/// table). The raw value is the name written to the card event log.
public enum CardOperation: String, Sendable, CaseIterable, Hashable {
    /// 申领: a first or new card for a person with no valid card.
    case issue
    /// 解锁: clear a lock, keep the PIN.
    case unlock
    /// 重置: PIN back to 123456, count 0, PENDING.
    case pinReset = "pin_reset"
    /// 挂失.
    case reportLost = "report_lost"
    /// 挂失解除: window only, card in hand.
    case releaseLoss = "release_loss"
    /// 补换: old card REPLACED, new card PENDING.
    case replace
    /// 注销: the person's insurance ends.
    case cancel

    /// The terminal kinds that may perform the operation (RULES.md §2 "who may do it").
    public var allowedKinds: Set<TerminalKind> {
        switch self {
        case .issue: return [.window, .online]
        case .unlock: return [.window]
        case .pinReset: return [.window]
        case .reportLost: return [.window, .hotline, .online]
        case .releaseLoss: return [.window]
        case .replace: return [.window, .online]
        case .cancel: return [.window]
        }
    }
}

/// What a card operation does, for the store to apply in one transaction and log.
public struct CardTransition: Sendable, Equatable, Hashable {
    /// The named card's state afterwards; nil when the named card does not change (issue).
    public let card: CardState?
    /// A card to create — PENDING, count 0, PIN `123456` (issue, replace). The account,
    /// accumulators and e-card carry over to it (they belong to the person).
    public let newCard: CardState?
    /// The named card's PIN is set back to `123456` (PIN reset).
    public let resetsPIN: Bool

    public init(card: CardState?, newCard: CardState? = nil, resetsPIN: Bool = false) {
        self.card = card
        self.newCard = newCard
        self.resetsPIN = resetsPIN
    }
}
