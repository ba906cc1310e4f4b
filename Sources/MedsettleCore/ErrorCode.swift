/// Every outcome code of PROTOCOL.md's "Error codes" section. The raw value is the wire word.
///
/// Business logic decides outcomes in these terms; the protocol module only spells them.
public enum ErrorCode: String, Sendable, CaseIterable, Error {
    case badRequest = "BAD_REQUEST"
    case unknownVerb = "UNKNOWN_VERB"
    case lineTooLong = "LINE_TOO_LONG"
    case notSignedIn = "NOT_SIGNED_IN"
    case authFailed = "AUTH_FAILED"
    case terminalDisabled = "TERMINAL_DISABLED"
    case forbidden = "FORBIDDEN"
    case badIdNo = "BAD_ID_NO"
    case personNotFound = "PERSON_NOT_FOUND"
    case personExists = "PERSON_EXISTS"
    case cardNotFound = "CARD_NOT_FOUND"
    case cardExists = "CARD_EXISTS"
    case cardCancelled = "CARD_CANCELLED"
    case cardReplaced = "CARD_REPLACED"
    case cardLost = "CARD_LOST"
    case cardLocked = "CARD_LOCKED"
    case pinWrong = "PIN_WRONG"
    case pinChangeRequired = "PIN_CHANGE_REQUIRED"
    case pinWeak = "PIN_WEAK"
    case badState = "BAD_STATE"
    case qrInvalid = "QR_INVALID"
    case qrExpired = "QR_EXPIRED"
    case qrUsed = "QR_USED"
    case unknownItem = "UNKNOWN_ITEM"
    case tooManyItems = "TOO_MANY_ITEMS"
    case noAccount = "NO_ACCOUNT"
    case traceReused = "TRACE_REUSED"
    /// A traceability code of the claim is already sold by a settlement that stands (revision 1.1).
    case traceCodeUsed = "TRACE_CODE_USED"
    case reversed = "REVERSED"
    case notFound = "NOT_FOUND"
    case alreadyCancelled = "ALREADY_CANCELLED"
    case admissionOpen = "ADMISSION_OPEN"
    case admissionClosed = "ADMISSION_CLOSED"
    case busy = "BUSY"
    case unavailable = "UNAVAILABLE"
    case `internal` = "INTERNAL"
}

/// The terminal kinds of RULES.md §6; a terminal belongs to exactly one.
public enum TerminalKind: String, Sendable, CaseIterable {
    case pharmacy, hospital, window, hotline, online, agency
}
