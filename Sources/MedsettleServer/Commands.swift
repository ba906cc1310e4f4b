import MSLP
import MedsettleCore
import MedsettleStore

/// Typed decoding of a validated request's field values. Each decoder answers a `ValueError`
/// (BAD_REQUEST, BAD_ID_NO, TOO_MANY_ITEMS) for the first bad value, before anything is done.
enum Commands {
    typealias Decoded<T> = Result<T, ValueError>

    /// The longest QR token accepted; real tokens are far shorter.
    static let maxQRLength = 512

    static func required(_ request: Request, _ key: String) -> Decoded<String> {
        guard let value = request.value(key) else { return .failure(ValueError(message: "missing key \(key)")) }
        return .success(value)
    }

    static func credential(_ request: Request) -> Decoded<Credential> {
        if let qr = request.value("qr") {
            guard (1...maxQRLength).contains(qr.utf8.count) else {
                return .failure(ValueError(message: "qr must be 1-\(maxQRLength) bytes"))
            }
            return .success(.qr(qr))
        }
        return required(request, "card").flatMap { ValueSyntax.cardNumber($0) }.flatMap { card in
            required(request, "pin").flatMap { ValueSyntax.pin($0) }.map { .card(number: card, pin: $0) }
        }
    }

    static func cardNumber(_ request: Request) -> Decoded<String> {
        required(request, "card").flatMap { ValueSyntax.cardNumber($0) }
    }

    /// `reason=` from a fixed list when the verb takes one; nil when it does not.
    static func reason(_ request: Request, allowed: [String]?) -> Decoded<String?> {
        guard let allowed else { return .success(nil) }
        return required(request, "reason").flatMap { ValueSyntax.oneOf($0, key: "reason", allowed: allowed) }.map { $0 }
    }

    /// An optional `0`/`1` flag (`assist`).
    static func optionalFlag(_ request: Request, _ key: String) -> Decoded<Bool?> {
        guard let value = request.value(key) else { return .success(nil) }
        return ValueSyntax.flag(value, key: key).map { $0 }
    }

    static func optionalIDNo(_ request: Request, key: String) -> Decoded<String?> {
        guard request.value(key) != nil else { return .success(nil) }
        return idNo(request, key: key).map { $0 }
    }

    static func optionalName(_ request: Request) -> Decoded<String?> {
        guard request.value("name") != nil else { return .success(nil) }
        return name(request).map { $0 }
    }

    /// A settlement (`S…`) or admission (`A…`) id; the store says whether it exists.
    static func wireID(_ request: Request, _ key: String, _ kind: WireID) -> Decoded<String> {
        required(request, key).flatMap { value in
            kind.decode(value) == nil ? .failure(ValueError(message: "\(key) is not a valid id")) : .success(value)
        }
    }

    /// `ward`: free text for the admission record, 1–32 characters, no control characters.
    /// Characters are counted as PostgreSQL counts them: Unicode scalars (code points), not
    /// grapheme clusters ("a" with 40 combining accents is one Swift Character, 41 code points).
    static func ward(_ request: Request) -> Decoded<String?> {
        guard let ward = request.value("ward") else { return .success(nil) }
        guard (1...32).contains(ward.unicodeScalars.count),
              !ward.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return .failure(ValueError(message: "ward must be 1-32 characters without control characters"))
        }
        return .success(ward)
    }

    /// RECON's `date count total fund account cash [scope]`.
    static func recon(_ request: Request) -> Decoded<(BusinessDate, ReconTotals, ReconScope)> {
        func amount(_ key: String) -> Decoded<Int64> { required(request, key).flatMap { ValueSyntax.amount($0, key: key) } }
        return required(request, "date").flatMap { ValueSyntax.date($0) }.flatMap { date in
            amount("count").flatMap { count in amount("total").flatMap { total in amount("fund").flatMap { fund in
                amount("account").flatMap { account in amount("cash").flatMap { cash in
                    let scope = request.value("scope").map { ValueSyntax.oneOf($0, key: "scope", as: ReconScope.self) } ?? .success(.terminal)
                    return scope.map { (date, ReconTotals(count: count, total: total, fund: fund, account: account, cash: cash), $0) }
                } }
            } } }
        }
    }

    static func trace(_ request: Request) -> Decoded<String> {
        required(request, "trace").flatMap { ValueSyntax.trace($0) }
    }

    static func idNo(_ request: Request, key: String = "id_no") -> Decoded<String> {
        required(request, key).flatMap { ValueSyntax.idNo($0, key: key) }
    }

    /// FAMILYBIND's and FAMILYUNBIND's pair: the payer (`id_no`) and the `member`, both valid ID
    /// numbers (`BAD_ID_NO`) before they may not be one person (`BAD_REQUEST`), RULES.md §12.
    static func family(_ request: Request) -> Decoded<(payer: String, member: String)> {
        idNo(request).flatMap { payer in
            idNo(request, key: "member").flatMap { member in
                payer == member ? .failure(ValueError(message: "member must be another person than id_no")) : .success((payer, member))
            }
        }
    }

    /// The optional proxy (代办) agent's resident ID number.
    static func agent(_ request: Request) -> Decoded<String?> {
        optionalIDNo(request, key: "agent_id")
    }

    /// `visit`: a pharmacy settles `pharmacy`, a hospital `outpatient` (its default); inpatient care
    /// goes through DISCHARGE. Anything else is BAD_REQUEST.
    static func visit(_ request: Request, kind: TerminalKind) -> Decoded<VisitType> {
        let expected: VisitType = kind == .hospital ? .outpatient : .pharmacy
        guard let value = request.value("visit") else { return .success(expected) }
        guard value == expected.rawValue else {
            return .failure(ValueError(message: "visit must be \(expected.rawValue) at a \(kind.rawValue)"))
        }
        return .success(expected)
    }

    static func useAccount(_ request: Request) -> Decoded<Bool> {
        guard let value = request.value("use_account") else { return .success(true) }
        return ValueSyntax.flag(value, key: "use_account")
    }

    static func claim(_ request: Request, kind: TerminalKind) -> Decoded<ClaimRequest> {
        credential(request).flatMap { credential in
            required(request, "items").flatMap { ItemList.parse($0) }.flatMap { lines in
                visit(request, kind: kind).flatMap { visit in
                    useAccount(request).map { use in
                        ClaimRequest(credential: credential, lines: lines, visit: visit, useAccount: use)
                    }
                }
            }
        }
    }

    /// FEES's `items`: fee lines carry no traceability codes in this revision (RULES.md §10, §12),
    /// so any `#` is BAD_REQUEST.
    static func feeLines(_ request: Request) -> Decoded<[ClaimLine]> {
        required(request, "items").flatMap { ItemList.parse($0) }.flatMap { lines in
            lines.contains(where: { !$0.traceCodes.isEmpty })
                ? .failure(ValueError(message: "fee lines carry no traceability codes")) : .success(lines)
        }
    }

    /// A person's name: 1–64 characters, no control characters; characters are Unicode scalars,
    /// as the column's `char_length` check counts them (see `ward`).
    static func name(_ request: Request) -> Decoded<String> {
        required(request, "name").flatMap { name in
            guard (1...64).contains(name.unicodeScalars.count) else { return .failure(ValueError(message: "name must be 1-64 characters")) }
            guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                return .failure(ValueError(message: "name must not contain control characters"))
            }
            return .success(name)
        }
    }

    /// A plan area code: 6 digits (an administrative division code).
    static func area(_ request: Request) -> Decoded<String?> {
        guard let area = request.value("area") else { return .success(nil) }
        guard area.utf8.count == 6, area.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return .failure(ValueError(message: "area must be 6 digits"))
        }
        return .success(area)
    }
}
