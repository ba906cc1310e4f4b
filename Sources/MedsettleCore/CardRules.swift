/// The card lifecycle of RULES.md §2–§3 as one pure state machine: every decision about what a
/// card may do and what it becomes is made here, so the store, the server and the tests share a
/// single truth. The store reads the card's row (locked), asks, and writes back what it is told.
public enum CardRules {
    /// The terminal kinds that may change a PIN (RULES.md §2 "change PIN").
    public static let pinChangeKinds: Set<TerminalKind> = [.window, .pharmacy, .hospital]

    // MARK: - Presenting a card

    /// The first four steps of the presentation precedence — CANCELLED, REPLACED, LOST, locked —
    /// which are decided before the PIN is even compared ("unknown" is the caller's, earlier).
    static func statusRefusal(_ state: CardState) -> CardRefusal? {
        switch state.status {
        case .cancelled: return .cancelled
        case .replaced: return .replaced
        case .lost: return .lost
        case .pending, .active: return state.isLocked ? .locked : nil
        }
    }

    /// Presenting a card with its PIN (CARDINFO, PRICE, SETTLE, ADMIT, DISCHARGE).
    ///
    /// Precedence: CANCELLED, REPLACED, LOST, locked, wrong PIN, PENDING. A wrong PIN counts even on
    /// a PENDING card; the 6th locks the card. A right PIN resets the count — also on a PENDING card,
    /// which then answers `PIN_CHANGE_REQUIRED` (the holder proved the PIN; only its change is due).
    public static func present(_ state: CardState, pinMatches: Bool) -> CardPresentation {
        if let refusal = statusRefusal(state) { return CardPresentation(refusal: refusal) }
        switch countAttempt(state, pinMatches: pinMatches) {
        case .refused(let wrong): return wrong
        case .accepted(let reset):
            let refusal: CardRefusal? = state.status == .pending ? .pinChangeRequired : nil
            return CardPresentation(refusal: refusal, newWrongCount: reset)
        }
    }

    private enum CountedAttempt {
        case refused(CardPresentation)
        /// The wrong count to store, or nil when it is already 0.
        case accepted(reset: Int?)
    }

    /// One PIN comparison on a card that passed the status checks: a wrong PIN is counted (the 6th
    /// locks) and refused; a right one succeeds with the count to store (nil when already 0).
    private static func countAttempt(_ state: CardState, pinMatches: Bool) -> CountedAttempt {
        switch PinPolicy.attempt(wrongCount: state.wrongCount, pinMatches: pinMatches) {
        case .wrong(let count, let left):
            return .refused(CardPresentation(refusal: .pinWrong(left: left), newWrongCount: count, pinFailed: true))
        case .locked(let count):
            return .refused(CardPresentation(refusal: .locked, newWrongCount: count, pinFailed: true, lockedNow: true))
        case .accepted(let count):
            return .accepted(reset: state.wrongCount == count ? nil : count)
        }
    }

    /// A PIN change (PINCHANGE `card pin new`): the old PIN is checked exactly as in `present`
    /// (a wrong one counts and may lock), then the new one must not be weak. A right old PIN resets
    /// the count even when the new PIN is then refused as `PIN_WEAK`. Accepted: the card becomes
    /// ACTIVE with count 0 and the store saves the new PIN's hash.
    ///
    /// `oldPIN` is the PIN the request sent (proved right by `oldPINMatches`); it is needed in the
    /// clear only for the "same as old" weakness rule, since the stored PIN is a hash.
    public static func changePIN(_ state: CardState, oldPINMatches: Bool, oldPIN: String, newPIN: String) -> CardPresentation {
        if let refusal = statusRefusal(state) { return CardPresentation(refusal: refusal) }
        switch countAttempt(state, pinMatches: oldPINMatches) {
        case .refused(let wrong): return wrong
        case .accepted(let reset):
            if PinPolicy.isWeak(new: newPIN, old: oldPIN) {
                return CardPresentation(refusal: .pinWeak, newWrongCount: reset)
            }
            return CardPresentation(refusal: nil, newWrongCount: reset, newStatus: .active)
        }
    }

    /// Presenting an e-card payment QR (RULES.md §3), after the token itself was verified. A QR
    /// stands in for card + PIN but is honoured only while the card is ACTIVE and not locked: the
    /// status errors come in the usual precedence, and a PENDING card answers
    /// `PIN_CHANGE_REQUIRED` — the same answer its PIN would get, since the e-card follows every rule
    /// of the physical card. Nothing is counted (there is no PIN). The same decision serves QRCODE,
    /// which issues a token only for a card this accepts.
    public static func presentQR(_ state: CardState) -> CardPresentation {
        if let refusal = statusRefusal(state) { return CardPresentation(refusal: refusal) }
        return CardPresentation(refusal: state.status == .pending ? .pinChangeRequired : nil)
    }

    // MARK: - Window, hotline and online operations

    /// Applies a service operation to the named card (for `.issue`, to the person's most recent
    /// card — see `issue(latest:)`).
    ///
    /// A REPLACED card answers `CARD_REPLACED` and a CANCELLED one `CARD_CANCELLED` before any
    /// other check; then the "from" column of the table, where a lost card that the operation
    /// cannot take answers `CARD_LOST` and any other unmet condition `BAD_STATE`. Being locked
    /// never blocks a service operation: it is what unlock and PIN reset are for, and losing,
    /// replacing or cancelling a locked card must stay possible.
    public static func apply(_ op: CardOperation, to state: CardState) -> Result<CardTransition, ErrorCode> {
        // Issue names no card, so the final-status precedence does not apply to it.
        if op != .issue {
            switch state.status {
            case .replaced: return .failure(.cardReplaced)
            case .cancelled: return .failure(.cardCancelled)
            case .pending, .active, .lost: break
            }
        }
        switch op {
        case .issue:
            return issue(latest: state)
        case .unlock:
            // Unlocking keeps the status, also LOST: a lost card found again is unlocked at the
            // window and released separately.
            guard state.isLocked else { return .failure(state.status == .lost ? .cardLost : .badState) }
            return .success(CardTransition(card: CardState(status: state.status, wrongCount: 0,
                                                           statusBeforeLoss: state.statusBeforeLoss)))
        case .pinReset:
            guard state.status != .lost else { return .failure(.cardLost) }
            return .success(CardTransition(card: CardState(status: .pending, wrongCount: 0), resetsPIN: true))
        case .reportLost:
            guard state.status != .lost else { return .failure(.cardLost) }
            return .success(CardTransition(card: CardState(status: .lost, wrongCount: state.wrongCount,
                                                           statusBeforeLoss: state.status)))
        case .releaseLoss:
            guard state.status == .lost, let before = state.statusBeforeLoss else { return .failure(.badState) }
            return .success(CardTransition(card: CardState(status: before, wrongCount: state.wrongCount)))
        case .replace:
            return .success(CardTransition(card: CardState(status: .replaced, wrongCount: state.wrongCount),
                                           newCard: .newCard))
        case .cancel:
            return .success(CardTransition(card: CardState(status: .cancelled, wrongCount: state.wrongCount)))
        }
    }

    /// Issuing a card (申领) to a person, given their most recent card if any. Allowed only when the
    /// person has no valid card: a PENDING, ACTIVE or LOST card answers `CARD_EXISTS` (a lost card
    /// is replaced, not issued anew); a CANCELLED one means the insurance ended, so `BAD_STATE`
    /// (RULES.md §2 "cancel"). A REPLACED latest card cannot occur — a replacement creates a newer
    /// card — and would mean no valid card, so it is allowed.
    public static func issue(latest: CardState?) -> Result<CardTransition, ErrorCode> {
        switch latest?.status {
        case nil, .replaced?: return .success(CardTransition(card: nil, newCard: .newCard))
        case .pending?, .active?, .lost?: return .failure(.cardExists)
        case .cancelled?: return .failure(.badState)
        }
    }
}
