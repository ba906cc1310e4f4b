/// The fields of each verb, transcribed from PROTOCOL.md. Each schema is built once (a static
/// constant), so `verb.schema` on the hot path costs a retain, not an allocation.
extension Verb {
    public var schema: FieldSchema {
        switch self {
        case .ping, .signOut: return Schemas.none
        case .signIn: return Schemas.signIn
        case .cardInfo: return Schemas.cardInfo
        case .pinChange: return Schemas.pinChange
        case .price: return Schemas.price
        case .settle: return Schemas.settle
        case .cancel: return Schemas.cancel
        case .reverse, .query: return Schemas.traceOnly
        case .admit: return Schemas.admit
        case .fees: return Schemas.fees
        case .discharge: return Schemas.discharge
        case .feesUndo: return Schemas.feesUndo
        case .admitCancel: return Schemas.admitCancel
        case .recon: return Schemas.recon
        case .enroll: return Schemas.enroll
        case .credit: return Schemas.credit
        case .issue: return Schemas.issue
        case .unlock, .pinReset, .reportLost, .unlost: return Schemas.cardWindow
        case .replace, .cancelCard: return Schemas.cardWindowReason
        case .personUpdate: return Schemas.personUpdate
        case .familyBind: return Schemas.familyBind
        case .familyUnbind: return Schemas.familyUnbind
        case .qrCode: return Schemas.qrCode
        case .itemInfo: return Schemas.itemInfo
        }
    }
}

private enum Schemas {
    static let none = FieldSchema(forms: [FieldSchema.Form([])])
    static let signIn = FieldSchema(["terminal", "mac"])
    static let cardInfo = FieldSchema([.cred])
    // PINCHANGE names the card and its old PIN explicitly; a QR cannot change a PIN.
    static let pinChange = FieldSchema(["card", "pin", "new"])
    static let price = FieldSchema(forms: [
        FieldSchema.Form([.cred, "items"], optional: ["visit"]),
        // Prices an open admission's fee lines as a discharge now would.
        FieldSchema.Form(["admission"], onlyFor: [.hospital]),
    ])
    static let settle = FieldSchema(["trace", .cred, "items"], optional: ["visit", "use_account"])
    static let cancel = FieldSchema(["trace", "settlement"])
    static let traceOnly = FieldSchema(["trace"])
    static let admit = FieldSchema(["trace", .cred], optional: ["ward"])
    static let fees = FieldSchema(["trace", "admission", "items"])
    static let discharge = FieldSchema(["trace", "admission", .cred], optional: ["use_account"])
    // `of`: the trace of the FEES request (of this terminal) whose lines are withdrawn.
    static let feesUndo = FieldSchema(["trace", "admission", "of"])
    static let admitCancel = FieldSchema(["trace", "admission"])
    static let recon = FieldSchema(["date", "count", "total", "fund", "account", "cash"], optional: ["scope"])
    static let enroll = FieldSchema(["id_no", "name", "insurance"], optional: ["area", "assist"])
    static let credit = FieldSchema(["trace", "id_no", "amount"])
    static let issue = FieldSchema(["id_no"], optional: ["agent_id"])
    static let cardWindow = FieldSchema(["card", "id_no"], optional: ["agent_id"])
    static let cardWindowReason = FieldSchema(["card", "id_no", "reason"], optional: ["agent_id"])
    static let personUpdate = FieldSchema(["id_no"], optional: ["name", "new_id_no", "assist", "agent_id"])
    // `id_no` is the payer's; `member` the relative's ID number.
    static let familyBind = FieldSchema(["id_no", "member", "relation"], optional: ["agent_id"])
    static let familyUnbind = FieldSchema(["id_no", "member"], optional: ["agent_id"])
    static let qrCode = FieldSchema(["card"])
    static let itemInfo = FieldSchema(["code"], optional: ["date"])
}
