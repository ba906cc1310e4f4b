import MedsettleCore

/// Why an operation did nothing: one of the protocol's error codes, a message for people, and the
/// detail some codes carry. Every operation answers `Answer<its result>`; the server spells both
/// on the wire, in one place.
public struct Refusal: Error, Sendable, Equatable {
    public enum Detail: Sendable, Equatable {
        /// `PIN_WRONG left=`.
        case attemptsLeft(Int)
        /// `UNKNOWN_ITEM item=`.
        case item(String)
        /// `TRACE_CODE_USED code=`.
        case traceCode(String)
    }

    public let code: ErrorCode
    public let message: String
    public let detail: Detail?
    /// This refusal is the wrong PIN that locked the card (for metrics; not on the wire).
    public let lockedCard: Bool

    public init(_ code: ErrorCode, _ message: String, detail: Detail? = nil, lockedCard: Bool = false) {
        self.code = code
        self.message = message
        self.detail = detail
        self.lockedCard = lockedCard
    }
}

/// What an operation answers: its typed result, or a refusal.
public typealias Answer<Success> = Result<Success, Refusal>

extension Refusal {
    static let databaseUnavailable = Refusal(.unavailable, "the database cannot be reached; nothing was done")
    static let busy = Refusal(.busy, "the engine is busy; try again")
    static let statementTimeout = Refusal(.busy, "the database did not answer in time; nothing was done; try again")
    static let lockTimeout = Refusal(.busy, "the database waited too long for a lock; nothing was done; try again")
    static let shuttingDown = Refusal(.unavailable, "the engine is shutting down")
    static let internalError = Refusal(.internal, "internal error")
    /// A commit whose connection was lost and whose outcome could not be learnt in time.
    static let outcomeUnknown = Refusal(
        .busy, "the database connection was lost while committing; whether it was done is not known yet: "
            + "send the same request again (same trace) or QUERY it")

    static let noSuchCard = Refusal(.cardNotFound, "no such card")
    static let noSuchPerson = Refusal(.personNotFound, "no person with this ID number")
    static let noSuchSettlement = Refusal(.notFound, "no such settlement")
    static let noSuchAdmission = Refusal(.notFound, "no such admission")
    static let admissionClosed = Refusal(.admissionClosed, "the admission is closed")
    static let otherInstitutionsAdmission = Refusal(.forbidden, "the admission belongs to another institution")
    static let otherInstitutionsSettlement = Refusal(.forbidden, "the settlement belongs to another institution")

    static func unknownItem(_ code: String) -> Refusal {
        Refusal(.unknownItem, "item \(code) is not in the catalog", detail: .item(code))
    }

    /// A card presentation refused by `CardRules`; `lockedNow` when this attempt locked it.
    static func card(_ refusal: CardRefusal, lockedNow: Bool = false) -> Refusal {
        switch refusal {
        case .cancelled: return Refusal(.cardCancelled, "card is cancelled")
        case .replaced: return Refusal(.cardReplaced, "card has been replaced")
        case .lost: return Refusal(.cardLost, "card is reported lost")
        case .locked: return Refusal(.cardLocked, "card is locked after 6 wrong PINs; unlock it at a service window", lockedCard: lockedNow)
        case .pinWrong(let left): return Refusal(.pinWrong, "wrong PIN", detail: .attemptsLeft(left))
        case .pinChangeRequired: return Refusal(.pinChangeRequired, "the initial PIN must be changed first")
        case .pinWeak: return Refusal(.pinWeak, "new PIN is too weak")
        }
    }

    /// The answer to a presentation that `CardRules` refused, or nil when it accepted it.
    static func presentation(_ decision: CardPresentation) -> Refusal? {
        decision.refusal.map { card($0, lockedNow: decision.lockedNow) }
    }

    static func claim(_ refusal: ClaimRefusal, presentation: CardPresentation?) -> Refusal {
        switch refusal {
        case .noSuchCard(let viaQR): return viaQR ? Refusal(.qrInvalid, "QR code names no card") : noSuchCard
        case .card(let card): return Refusal.card(card, lockedNow: presentation?.lockedNow ?? false)
        case .qrUsed: return Refusal(.qrUsed, "QR code has already been used")
        case .qr(let code): return qr(code)
        case .inadmissible(let code, let message): return Refusal(code, message)
        case .traceCodes(let problem): return Refusal(.badRequest, problem)
        case .traceCodeUsed(let code):
            return Refusal(.traceCodeUsed, "traceability code \(code) is already sold", detail: .traceCode(code.digits))
        case .noPolicy: return Refusal(.internal, "no insurance policy for this claim")
        case .pricing(.unknownItem(let code)): return unknownItem(code)
        case .pricing(.amountTooLarge): return Refusal(.badRequest, "claim amounts are out of range")
        }
    }

    static func qr(_ code: ErrorCode) -> Refusal {
        Refusal(code, code == .qrExpired ? "QR code has expired" : "QR code is not valid")
    }
}
