import MedsettleCore

/// Which terminal kind may use which verb: the "kinds" column of PROTOCOL.md "Verbs by kind".
///
/// A terminal may use only its kind's verbs (RULES.md §6); the server answers `FORBIDDEN` otherwise.
/// Kept as an exhaustive switch so that adding a verb without deciding its kinds does not compile.
extension Verb {
    public func isAllowed(for kind: TerminalKind) -> Bool {
        switch self {
        case .ping, .signIn, .signOut:
            return true
        case .cardInfo, .pinChange:
            return kind == .pharmacy || kind == .hospital || kind == .window
        case .price, .settle, .cancel, .reverse, .query, .recon, .itemInfo:
            return kind == .pharmacy || kind == .hospital
        case .admit, .fees, .discharge, .feesUndo, .admitCancel:
            return kind == .hospital
        case .enroll, .credit:
            return kind == .agency
        case .issue, .replace:
            return kind == .window || kind == .online
        case .unlock, .pinReset, .unlost, .cancelCard:
            return kind == .window
        case .personUpdate, .familyBind, .familyUnbind:
            return kind == .window || kind == .agency
        case .reportLost:
            return kind == .window || kind == .hotline || kind == .online
        case .qrCode:
            return kind == .online
        }
    }

    /// The kinds that may use this verb, in `TerminalKind.allCases` order.
    public var allowedKinds: [TerminalKind] {
        TerminalKind.allCases.filter { isAllowed(for: $0) }
    }
}
