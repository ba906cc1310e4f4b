import LoadData
import MSLP
import MedsettleCore
import MedsettleStore

/// One request of the settle or mixed load.
struct Operation: Sendable {
    let kind: OperationKind
    /// The request line; for a QR payment without its credential, which is `qr=<token>` once the
    /// online connection has asked for one.
    let line: String
    let trace: String
    /// For a QR payment: the card to ask a QRCODE for.
    let qrCard: String?
    /// A SETTLE by card: the line after its tag, which a repeat sends again.
    let content: String?
    /// A probe (`Probes.swift`): what its answers must be.
    let probe: Probe?
    /// The traceability codes a SETTLE sells.
    let codes: [String]
    /// A refusal of the load's own making, not an error: an ADMIT of a person another terminal
    /// (or an earlier run) has in hospital answers `ADMISSION_OPEN`.
    let tolerated: String?
    /// A wrong PIN sent on purpose: its refusal is not an error.
    var expectsRefusal: Bool { kind == .wrongPIN }

    init(_ kind: OperationKind, _ line: String, trace: String, qrCard: String? = nil, content: String? = nil, probe: Probe? = nil,
         codes: [String] = [], tolerated: String? = nil) {
        self.kind = kind
        self.line = line
        self.trace = trace
        self.qrCard = qrCard
        self.content = content
        self.probe = probe
        self.codes = codes
        self.tolerated = tolerated
    }

    func tolerates(_ reply: ReplyLine) -> Bool { tolerated != nil && reply.code == tolerated }
}

/// A hospital terminal's stay in progress (mixed mix): admitted, two fee uploads, the first
/// withdrawn (FEESUNDO); then either discharged, or the second withdrawn too and the admission
/// cancelled (ADMITCANCEL) — the two endings in turn.
enum Stay {
    case none
    /// An ADMIT sent for this card, not yet answered.
    case admitting(card: String)
    case open(admission: String, card: String, uploads: [String], withdrawn: Int, discharges: Bool)
}

/// A connection's own sequence numbers, the settlements it may reverse or cancel, and the draw of
/// its next request.
///
/// The mixed mix, per 100 requests on average: 65 SETTLE by card and PIN (one in five with a
/// traced drug, its packages' fresh traceability codes on the line), 5 SETTLE by QR (each after a
/// QRCODE on the online connection), 8 CARDINFO, 4 CARDINFO with a wrong PIN, 4 REVERSE and 4
/// CANCEL of the connection's own earlier settlements (a SETTLE instead while it has none), on a
/// hospital terminal 8 steps of a hospital stay (`Stay`) in place of SETTLEs, and 6 probes
/// whose answers are known in advance (`Probes.swift`): 2 repeats of an earlier SETTLE, 1 REVERSE
/// of a trace never sent followed by that SETTLE, 2 PIN tries on the connection's own card, 1
/// traceability code of a standing settlement offered again. Every twentieth generated person is a
/// family member whose payer's account pays for them (`LoadTestData`).
struct WorkerState {
    let worker: Int
    let runID: String
    var sequence = 0
    var tag = 0
    /// Settled here and not undone since: the trace, the settlement id, for a SETTLE by card its
    /// content (for a repeat), and the traceability codes it sold.
    var recent: [(trace: String, settlement: String, content: String?, codes: [String])] = []
    /// The hospital stay in progress (hospital terminals only), and how many were begun.
    var stay = Stay.none
    var stays = 0
    let isHospital: Bool
    /// The card only this connection uses, for the lockout probe (mixed mix, when there are
    /// people enough): person `people − worker`, never drawn for anything else.
    let ownCard: String?
    /// Its consecutive wrong PINs as the answers tell them; nil until the first answer.
    var ownCardWrongPINs: Int?
    /// A wrong PIN may have counted without an answer (its connection was lost, or the answer was
    /// BUSY for a commit of unknown outcome): the next answer may then be one further on — but
    /// never fewer, which is how a count lost in a crash or a failover would show.
    var ownCardMaybeOneMore = false
    /// A fast generator of its own: the system's would make a getrandom call per draw, and the
    /// client's CPU is taken from the engine under test on these two cores.
    var random: SplitMix64

    /// Settlements remembered for REVERSE and CANCEL, per connection.
    static let recentLimit = 64

    init(worker: Int, runID: String, configuration: LoadConfiguration) {
        self.worker = worker
        self.runID = runID
        self.random = SplitMix64(seed: UInt64.random(in: 0...UInt64.max) &+ UInt64(worker))
        self.ownCard = configuration.reservesOwnCards ? LoadTestData.cardNo(configuration.people - worker) : nil
        self.isHospital = configuration.isHospital(connection: worker)
    }

    /// A SETTLE answered (or found by QUERY) settled: remembered for REVERSE, CANCEL and the
    /// probes. A discharge is not: undoing it would reopen an admission the stays have left.
    mutating func settled(_ operation: Operation, settlement: String) {
        guard operation.kind != .discharge else { return }
        recent.append((operation.trace, settlement, operation.content, operation.codes))
        if recent.count > Self.recentLimit { recent.removeFirst(recent.count - Self.recentLimit) }
    }

    mutating func nextTag() -> String {
        tag += 1
        return "t\(tag)"
    }

    mutating func next(_ configuration: LoadConfiguration) -> Operation {
        sequence += 1
        let tag = nextTag()
        let trace = "\(runID)-\(worker)-\(sequence)"
        let person = Int.random(in: 1...configuration.drawnPeople, using: &random)
        let cardNo = LoadTestData.cardNo(person)
        let card = "card=\(cardNo) pin=\(LoadTestData.pin)"
        let roll = configuration.mix == .settle ? 0 : Int.random(in: 0..<100, using: &random)
        switch roll {
        case 65..<66 where recent.contains { !$0.codes.isEmpty }:
            let code = recent.filter { !$0.codes.isEmpty }.randomElement(using: &random)!.codes.randomElement(using: &random)!
            return Operation(.codeReuse, "SETTLE \(tag) trace=\(trace) \(card) items=A006*1@1000#\(code)", trace: trace,
                             probe: .codeReuse(code: code))
        case 62..<70 where isHospital:
            return stayStep(tag: tag, trace: trace, cardNo: cardNo)
        case 70..<72 where recent.contains { $0.content != nil }:
            let earlier = recent.filter { $0.content != nil }.randomElement(using: &random)!
            return Operation(.repeatSettle, "SETTLE \(tag) \(earlier.content!)", trace: earlier.trace,
                             probe: .repeatOf(settlement: earlier.settlement))
        case 72..<73:
            return Operation(.reverseUnsent, "REVERSE \(tag) trace=\(trace)", trace: trace,
                             probe: .lateOriginal(content: "trace=\(trace) \(card) items=\(items())"))
        case 73..<75 where ownCard != nil:
            // Wrong PINs until the card locks, then the right one, which the lock must refuse.
            let pin = ownCardWrongPINs == PinPolicy.lockThreshold ? LoadTestData.pin : LoadTestData.wrongPIN
            return Operation(.ownCardPIN, "CARDINFO \(tag) card=\(ownCard!) pin=\(pin)", trace: trace, probe: .lockout)
        case 75..<80:
            let (items, codes) = claimItems()
            return Operation(.settleByQR, "SETTLE \(tag) trace=\(trace) items=\(items)", trace: trace, qrCard: cardNo, codes: codes)
        case 80..<88:
            return Operation(.cardInfo, "CARDINFO \(tag) \(card)", trace: trace)
        case 88..<92:
            return Operation(.wrongPIN, "CARDINFO \(tag) card=\(cardNo) pin=\(LoadTestData.wrongPIN)", trace: trace)
        case 92..<96 where !recent.isEmpty:
            let victim = recent.removeLast()
            return Operation(.reverse, "REVERSE \(tag) trace=\(victim.trace)", trace: trace)
        case 96..<100 where !recent.isEmpty:
            let victim = recent.removeFirst()
            return Operation(.cancel, "CANCEL \(tag) trace=\(trace) settlement=\(victim.settlement)", trace: trace)
        default:
            let (items, codes) = configuration.mix == .mixed ? claimItems() : configuration.tracedLines ? tracedItems() : (self.items(), [])
            let content = "trace=\(trace) \(card) items=\(items)"
            return Operation(.settleByCard, "SETTLE \(tag) \(content)", trace: trace, content: content, codes: codes)
        }
    }

    /// The next step of the hospital stay (`Stay`).
    mutating func stayStep(tag: String, trace: String, cardNo: String) -> Operation {
        switch stay {
        case .none, .admitting:
            stay = .admitting(card: cardNo)
            return Operation(.admit, "ADMIT \(tag) trace=\(trace) card=\(cardNo) pin=\(LoadTestData.pin)", trace: trace,
                             tolerated: "ADMISSION_OPEN")
        case .open(let admission, _, let uploads, _, _) where uploads.count < 2:
            let lines = (0..<Int.random(in: 1...3, using: &random)).map { _ -> String in
                let (code, limit) = Self.fees.randomElement(using: &random)!
                return "\(code)*\(Int.random(in: 1...3, using: &random))@\(Int.random(in: 100...limit, using: &random))"
            }
            return Operation(.fees, "FEES \(tag) trace=\(trace) admission=\(admission) items=\(lines.joined(separator: ";"))", trace: trace)
        case .open(let admission, let card, let uploads, let withdrawn, let discharges):
            if withdrawn == 1 && discharges {
                return Operation(.discharge, "DISCHARGE \(tag) trace=\(trace) admission=\(admission) card=\(card) pin=\(LoadTestData.pin)",
                                 trace: trace)
            }
            if withdrawn < uploads.count {
                return Operation(.feesUndo, "FEESUNDO \(tag) trace=\(trace) admission=\(admission) of=\(uploads[withdrawn])", trace: trace)
            }
            return Operation(.admitCancel, "ADMITCANCEL \(tag) trace=\(trace) admission=\(admission)", trace: trace)
        }
    }

    /// Moves the stay on by the answer to one of its steps. A refusal ends it (an admission left
    /// open is harmless: its patient was drawn at random).
    mutating func stayAnswered(_ operation: Operation, _ reply: ReplyLine) {
        guard [.admit, .fees, .feesUndo, .discharge, .admitCancel].contains(operation.kind) else { return }
        guard reply.ok else { return abandonStay() }
        switch (operation.kind, stay) {
        case (.admit, .admitting(let card)):
            guard let admission = reply.value("admission") else { return abandonStay() }
            stays += 1
            stay = .open(admission: admission, card: card, uploads: [], withdrawn: 0, discharges: stays % 2 == 1)
        case (.fees, .open(let admission, let card, let uploads, let withdrawn, let discharges)):
            stay = .open(admission: admission, card: card, uploads: uploads + [operation.trace], withdrawn: withdrawn, discharges: discharges)
        case (.feesUndo, .open(let admission, let card, let uploads, let withdrawn, let discharges)):
            stay = .open(admission: admission, card: card, uploads: uploads, withdrawn: withdrawn + 1, discharges: discharges)
        default:
            stay = .none // discharged or cancelled
        }
    }

    /// The stay's state is no longer known (a lost connection, a refusal): the next begins afresh.
    mutating func abandonStay() { stay = .none }

    /// Hospital fee items (services and treatments) and their price limits.
    static let fees: [(String, Int)] = [("S001", 4000), ("S002", 2500), ("S003", 20000), ("S004", 2000), ("A003", 2800)]

    /// Traced drugs and their price limits (RULES.md §10: a code per package).
    static let traced: [(String, Int)] = [("A006", 2000), ("B005", 4500)]

    /// A claim's lines; one claim in five adds a traced drug of 1–2 packages, each with a fresh
    /// 20-digit traceability code (random: 10^19 of them, so two runs never draw the same).
    mutating func claimItems() -> (String, [String]) {
        let lines = items()
        guard Int.random(in: 0..<5, using: &random) == 0 else { return (lines, []) }
        let (code, limit) = Self.traced.randomElement(using: &random)!
        let codes = (0..<Int.random(in: 1...2, using: &random)).map { _ in freshCode() }
        return (lines + ";\(code)*\(codes.count)@\(Int.random(in: 100...limit, using: &random))#" + codes.joined(separator: ","), codes)
    }

    /// 1–5 lines of traced drugs, 1–3 packages each, a fresh code per package (`--traced`).
    mutating func tracedItems() -> (String, [String]) {
        var codes: [String] = []
        let lines = (0..<Int.random(in: 1...5, using: &random)).map { _ -> String in
            let (code, limit) = Self.traced.randomElement(using: &random)!
            let packages = (0..<Int.random(in: 1...3, using: &random)).map { _ in freshCode() }
            codes += packages
            return "\(code)*\(packages.count)@\(Int.random(in: 100...limit, using: &random))#" + packages.joined(separator: ",")
        }
        return (lines.joined(separator: ";"), codes)
    }

    /// `8` and 19 random digits.
    mutating func freshCode() -> String {
        let high = String(random.next() % 10_000_000_000), low = String(random.next() % 1_000_000_000)
        return "8" + String(repeating: "0", count: 10 - high.count) + high + String(repeating: "0", count: 9 - low.count) + low
    }

    /// Pharmacy catalog items and their price limits: claims stay within the limits.
    static let catalog: [(String, Int)] = [("A001", 1500), ("A002", 1200), ("A003", 2800), ("A004", 1800), ("A005", 500),
                                           ("B001", 3500), ("B002", 2600), ("B003", 3000), ("B004", 6800),
                                           ("C001", 3000), ("C002", 5000)]

    /// 1–5 lines of random catalog items, quantities and prices within the limits.
    mutating func items() -> String {
        (0..<Int.random(in: 1...5, using: &random)).map { _ -> String in
            let (code, limit) = Self.catalog.randomElement(using: &random)!
            return "\(code)*\(Int.random(in: 1...3, using: &random))@\(Int.random(in: 100...limit, using: &random))"
        }.joined(separator: ";")
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast generator; good enough to pick load.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
