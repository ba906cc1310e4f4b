/// Every request verb of MSLP/1 (PROTOCOL.md "Session" and "Verbs by kind").
///
/// The raw value is the wire word in upper case; on the wire a verb is case-insensitive, so the
/// parser looks verbs up through `Verb.lookup(_:)` rather than `init(rawValue:)`.
public enum Verb: String, CaseIterable, Sendable {
    case ping = "PING"
    case signIn = "SIGNIN"
    case signOut = "SIGNOUT"
    case cardInfo = "CARDINFO"
    case pinChange = "PINCHANGE"
    case price = "PRICE"
    case settle = "SETTLE"
    case cancel = "CANCEL"
    case reverse = "REVERSE"
    case query = "QUERY"
    case admit = "ADMIT"
    case fees = "FEES"
    case discharge = "DISCHARGE"
    case feesUndo = "FEESUNDO"
    case admitCancel = "ADMITCANCEL"
    case recon = "RECON"
    case enroll = "ENROLL"
    case credit = "CREDIT"
    case issue = "ISSUE"
    case unlock = "UNLOCK"
    case pinReset = "PINRESET"
    case reportLost = "REPORTLOST"
    case unlost = "UNLOST"
    case replace = "REPLACE"
    case cancelCard = "CANCELCARD"
    case personUpdate = "PERSONUPDATE"
    case familyBind = "FAMILYBIND"
    case familyUnbind = "FAMILYUNBIND"
    case qrCode = "QRCODE"
    case itemInfo = "ITEMINFO"

    /// The session verbs: allowed for every kind; `PING` and `SIGNIN` are also served before sign-in.
    public var isSessionVerb: Bool {
        switch self {
        case .ping, .signIn, .signOut: return true
        default: return false
        }
    }

    /// Whether the verb may be served on a connection that has not signed in yet (PROTOCOL.md
    /// "Session": before sign-in only `PING` and `SIGNIN`; anything else is `NOT_SIGNED_IN`).
    public var isAllowedBeforeSignIn: Bool {
        self == .ping || self == .signIn
    }
}

// MARK: - Case-insensitive lookup from bytes

extension Verb {
    /// The longest verb (`PERSONUPDATE`) has 12 letters; 12 × 5 bits fit one `UInt64`.
    static let maxLength = 12

    /// Each verb packed as 5 bits per letter (A = 1 … Z = 26), so a lookup compares integers and
    /// allocates nothing, whatever the case the terminal wrote the verb in.
    private static let packedTable: [(UInt64, Verb)] = Verb.allCases.map { verb in
        var key: UInt64 = 0
        for b in verb.rawValue.utf8 { key = key << 5 | UInt64(b &- 0x40) }
        return (key, verb)
    }

    /// Looks a verb up by its wire spelling. The bytes must all be ASCII letters (the parser checks
    /// that first, since non-letters are `BAD_REQUEST` while unknown letters are `UNKNOWN_VERB`).
    static func lookup(letters p: UnsafeBufferPointer<UInt8>) -> Verb? {
        guard p.count >= 1, p.count <= maxLength else { return nil }
        var key: UInt64 = 0
        for b in p { key = key << 5 | UInt64((b & 0xDF) &- 0x40) }
        for (packed, verb) in packedTable where packed == key { return verb }
        return nil
    }

    /// Looks a verb up case-insensitively from text (for clients and tests); `nil` if unknown.
    public static func lookup(_ word: String) -> Verb? {
        let bytes = Array(word.utf8)
        guard bytes.allSatisfy(ByteClass.isLetter) else { return nil }
        return bytes.withUnsafeBufferPointer { lookup(letters: $0) }
    }
}
