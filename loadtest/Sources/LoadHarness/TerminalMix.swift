import LoadData
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
    /// A wrong PIN sent on purpose: its refusal is not an error.
    var expectsRefusal: Bool { kind == .wrongPIN }

    init(_ kind: OperationKind, _ line: String, trace: String, qrCard: String? = nil, content: String? = nil, probe: Probe? = nil) {
        self.kind = kind
        self.line = line
        self.trace = trace
        self.qrCard = qrCard
        self.content = content
        self.probe = probe
    }
}

/// A connection's own sequence numbers, the settlements it may reverse or cancel, and the draw of
/// its next request.
///
/// The mixed mix, per 100 requests on average: 70 SETTLE by card and PIN, 5 SETTLE by QR (each
/// after a QRCODE on the online connection), 8 CARDINFO, 4 CARDINFO with a wrong PIN, 4 REVERSE
/// and 4 CANCEL of the connection's own earlier settlements (a SETTLE instead while it has none),
/// and 5 probes whose answers are known in advance (`Probes.swift`): 2 repeats of an earlier
/// SETTLE, 1 REVERSE of a trace never sent followed by that SETTLE, 2 PIN tries on the
/// connection's own card.
struct WorkerState {
    let worker: Int
    let runID: String
    var sequence = 0
    var tag = 0
    /// Settled here and not undone since: the trace, the settlement id, and for a SETTLE by card
    /// its content (for a repeat).
    var recent: [(trace: String, settlement: String, content: String?)] = []
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
    }

    mutating func settled(trace: String, settlement: String, content: String? = nil) {
        recent.append((trace, settlement, content))
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
            return Operation(.settleByQR, "SETTLE \(tag) trace=\(trace) items=\(items())", trace: trace, qrCard: cardNo)
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
            let content = "trace=\(trace) \(card) items=\(items())"
            return Operation(.settleByCard, "SETTLE \(tag) \(content)", trace: trace, content: content)
        }
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
