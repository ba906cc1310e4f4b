import MSLP
import MedsettleCore
import MedsettleStore

/// What an operation answered, typed until it is written on the wire. The store's operations
/// return typed results; this is the one place that spells them as MSLP fields (PROTOCOL.md's
/// reply of each verb), and the one place metrics read them from.
enum Response: Sendable {
    case enrolled(idNo: String)
    case credited(Credited)
    case cardIssued(CardIssued)
    case pinChanged(CardStatus)
    case cardDetails(CardDetails)
    case priced(Split)
    case settled(Settled)
    case traceStatus(TraceStatus)
    case cardService(CardServiceDone)
    case personUpdated(idNo: String)
    case family(FamilyPair)
    case qrIssued(QRIssued)
    case cancelled(Cancelled)
    case reversal(Reversal)
    case admitted(Admitted)
    case feesAdded(FeesAdded)
    case feesWithdrawn(FeesWithdrawn)
    case admissionCancelled(AdmissionCancelled)
    case reconciled(Reconciled)
    case itemInfo(ItemInfo)
}

/// An operation's answer on its way to the wire.
typealias OperationAnswer = Result<Response, Refusal>

extension Result where Failure == Refusal {
    /// This answer as an operation's, its success wrapped by `response`.
    func answer(_ response: (Success) -> Response) -> OperationAnswer { map(response) }
}

extension Reply {
    /// The reply to a request tagged `tag` that was answered `answer`.
    init(tag: String, _ answer: OperationAnswer) {
        switch answer {
        case .success(let response): self = .ok(tag: tag, fields: response.fields)
        case .failure(let refusal): self = .error(tag: tag, code: refusal.code, message: refusal.message, fields: refusal.fields)
        }
    }
}

extension Refusal {
    /// The fields a refusal carries before `msg`.
    var fields: [(String, String)] {
        switch detail {
        case nil: return []
        case .attemptsLeft(let left)?: return [("left", String(left))]
        case .item(let code)?: return [("item", code)]
        case .traceCode(let code)?: return [("code", code)]
        }
    }
}

extension Response {
    /// The reply's fields in PROTOCOL.md's order; a repeat ends with `repeat=1`.
    var fields: [(String, String)] {
        switch self {
        case .enrolled(let idNo), .personUpdated(let idNo):
            return [("person", idNo)]
        case .credited(let credited):
            return [("balance", String(credited.balance))] + Self.repeatMark(credited.isRepeat)
        case .cardIssued(let card):
            return Self.newCard(card)
        case .pinChanged(let status):
            return [("status", status.rawValue)]
        case .cardDetails(let card):
            return [("card", card.cardNo), ("person", card.idNo), ("name", card.name), ("insurance", card.insurance.rawValue),
                    ("status", card.status.rawValue), ("balance", String(card.balance))]
        case .priced(let split):
            return split.fields
        case .settled(let settled):
            return [("settlement", WireID.settlement.encode(settled.settlement.id))] + settled.settlement.split.fields
                + [("balance", String(settled.settlement.balanceAfter))] + Self.repeatMark(settled.isRepeat)
        case .traceStatus(.unknown):
            return [("state", "unknown")]
        case .traceStatus(.reversed):
            return [("state", "reversed")]
        case .traceStatus(.settlement(let settlement)):
            return [("state", settlement.state.rawValue), ("settlement", WireID.settlement.encode(settlement.id))] + settlement.split.fields
        case .cardService(.status(let status)):
            return [("status", status.rawValue)]
        case .cardService(.replaced(let card)):
            return Self.newCard(card)
        case .cardService(.cancelled(let payout)):
            return [("status", CardStatus.cancelled.rawValue), ("payout", String(payout))]
        case .family(let pair):
            return [("payer", pair.payer), ("member", pair.member)]
        case .qrIssued(let qr):
            return [("qr", qr.token), ("expires", String(qr.expires))]
        case .cancelled(let cancelled):
            return [("settlement", WireID.settlement.encode(cancelled.settlement)), ("refund", String(cancelled.refund)),
                    ("balance", String(cancelled.balance)), ("aid_refund", String(cancelled.aidRefund))] + Self.repeatMark(cancelled.isRepeat)
        case .reversal(let reversal):
            return [("state", reversal.rawValue)]
        case .admitted(let admitted):
            return [("admission", WireID.admission.encode(admitted.admission))] + Self.repeatMark(admitted.isRepeat)
        case .feesAdded(let fees):
            return [("lines", String(fees.lines)), ("total", String(fees.total))] + Self.repeatMark(fees.isRepeat)
        case .feesWithdrawn(let fees):
            return [("lines", String(fees.lines)), ("total", String(fees.total))] + Self.repeatMark(fees.isRepeat)
        case .admissionCancelled(let cancelled):
            return [("admission", WireID.admission.encode(cancelled.admission)), ("state", "cancelled")] + Self.repeatMark(cancelled.isRepeat)
        case .reconciled(let recon):
            let engine = recon.engine
            return [("match", recon.matches ? "1" : "0"), ("count", String(engine.count)), ("total", String(engine.total)),
                    ("fund", String(engine.fund)), ("account", String(engine.account)), ("cash", String(engine.cash)),
                    ("pool", String(recon.layers.pool)), ("illness", String(recon.layers.illness)), ("assist", String(recon.layers.assist)),
                    ("aid", String(recon.layers.aid))]
        case .itemInfo(let info):
            return Self.itemFields(info)
        }
    }

    private static func itemFields(_ info: ItemInfo) -> [(String, String)] {
        let item = info.item
        return [("code", item.code), ("name", item.name), ("class", item.itemClass.rawValue), ("unit", item.unit),
                ("limit", String(item.priceLimit)), ("first_bp", String(item.firstSelfPayBP)), ("traced", item.traced ? "1" : "0"),
                ("version", String(info.version)), ("effective", info.effective.yyyymmdd)]
    }

    private static func newCard(_ card: CardIssued) -> [(String, String)] {
        [("card", card.cardNo), ("status", CardStatus.pending.rawValue)]
    }

    private static func repeatMark(_ isRepeat: Bool) -> [(String, String)] {
        isRepeat ? [("repeat", "1")] : []
    }
}
