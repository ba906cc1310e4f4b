/// The social-security PIN rules of RULES.md §2: shape, weakness and the lockout count.
/// Pure decisions only; hashing and storage belong to the store.
public enum PinPolicy {
    /// The PIN of a newly issued, replaced or reset card; it must be changed before any other use.
    public static let initialPIN = "123456"
    /// The consecutive wrong PINs that lock a card: the 6th locks it.
    public static let lockThreshold = 6

    /// Exactly 6 ASCII digits (not Unicode digits such as "１２３４５６").
    public static func isWellFormed(_ pin: String) -> Bool {
        let bytes = pin.utf8
        return bytes.count == 6 && bytes.allSatisfy(isASCIIDigit)
    }

    /// Why a new PIN is refused (`PIN_WEAK`); the first reason that applies, in this order.
    public enum Weakness: Sendable, Equatable, Hashable {
        /// Not exactly 6 ASCII digits. The protocol layer normally answers `BAD_REQUEST` before
        /// this is asked; if it slips through, a malformed PIN is still never accepted.
        case malformed
        /// The same as the card's current PIN.
        case sameAsOld
        /// The initial PIN `123456`.
        case initial
        /// One digit six times (`000000`, `777777`).
        case repeatedDigit
        /// Six consecutive digits up or down (`012345` … `456789`, `987654` … `543210`); no
        /// wrap-around, so `890123` is not a run.
        case sequence
    }

    /// Why `new` is too weak to replace `old`, or nil when it is acceptable.
    public static func weakness(new: String, old: String) -> Weakness? {
        guard isWellFormed(new) else { return .malformed }
        if new == old { return .sameAsOld }
        if new == initialPIN { return .initial }
        let digits = new.utf8.map { Int($0) - 0x30 }
        let steps = zip(digits.dropFirst(), digits).map { $0 - $1 }
        if steps.allSatisfy({ $0 == 0 }) { return .repeatedDigit }
        if steps.allSatisfy({ $0 == 1 }) || steps.allSatisfy({ $0 == -1 }) { return .sequence }
        return nil
    }

    /// Whether `new` is refused as `PIN_WEAK` when replacing `old`.
    public static func isWeak(new: String, old: String) -> Bool {
        weakness(new: new, old: old) != nil
    }

    /// The result of one PIN check on a card that is not locked.
    public enum Attempt: Sendable, Equatable, Hashable {
        /// Right PIN: the count goes back to 0.
        case accepted(newCount: Int)
        /// Wrong PIN, the 1st … 5th in a row: `PIN_WRONG left=`.
        case wrong(newCount: Int, left: Int)
        /// Wrong PIN, the 6th in a row: the card is now locked (`CARD_LOCKED`); persist and log it.
        case locked(newCount: Int)
    }

    /// Counts one PIN check. `wrongCount` is the card's consecutive-failure count, 0…5: a card at
    /// 6 is locked and must be refused before its PIN is even compared (RULES.md §2 precedence).
    /// The store applies the result under the card's row lock, so concurrent wrong PINs count one
    /// by one and never past 6.
    public static func attempt(wrongCount: Int, pinMatches: Bool) -> Attempt {
        precondition((0..<lockThreshold).contains(wrongCount), "a locked card is refused before its PIN is checked")
        if pinMatches { return .accepted(newCount: 0) }
        let count = wrongCount + 1
        return count >= lockThreshold ? .locked(newCount: count) : .wrong(newCount: count, left: lockThreshold - count)
    }
}
