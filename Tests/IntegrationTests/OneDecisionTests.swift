import MedsettleCore
@testable import MedsettleStore
import MetricsTestKit
import Synchronization
import Testing

/// One decision for a claim (`ClaimDecision`, through `ClaimDecider`): random claims settled one at
/// a time and the same claims settled together (rounds of many cardholders, with twins, repeats
/// and reused traces deferred to later rounds) answer the same and leave the same effects —
/// balances, PIN counts, card states, accumulators, settlements, QR uses and card events — and
/// PRICE prices each settled claim as SETTLE did.
@Suite(.timeLimit(.minutes(3)))
struct OneDecisionTests {
    static let pharmacy = TerminalContext(terminal: "P001-01", institution: "P001", kind: .pharmacy, level: 0)
    static let hospital = TerminalContext(terminal: "H001-01", institution: "H001", kind: .hospital, level: 3)
    static let online = TerminalContext(terminal: "O001-01", institution: "O001", kind: .online, level: 0)
    static let slots = 5
    static let items = ["A001", "A002", "B001", "B003", "C001", "S004"]

    /// One random claim, for a slot (a cardholder of each population).
    struct Draw {
        enum Credential { case rightPIN, wrongPIN, qr, reusedQR, unknownCard }
        let slot: Int
        let credential: Credential
        let lines: [ClaimLine]
        let atHospital: Bool
        let useAccount: Bool
        /// An index into the trace names: usually fresh, sometimes one used before.
        let trace: Int
    }

    static func draws(seed: UInt64, count: Int) -> [Draw] {
        var random = SplitMix(seed)
        return (0..<count).map { index in
            let roll = random.next(100)
            let credential: Draw.Credential = roll < 62 ? .rightPIN : roll < 80 ? .wrongPIN : roll < 90 ? .qr : roll < 95 ? .reusedQR : .unknownCard
            let lines = (0..<(1 + random.next(3))).map { _ in
                let code = random.next(25) == 0 ? "Z999" : items[Int(random.next(UInt64(items.count)))]
                return ClaimLine(code: code, quantity: Quantity(milli: Int64(1 + random.next(3)) * 500), price: Int64(100 + random.next(4000)))
            }
            let trace = index > 3 && random.next(8) == 0 ? Int(random.next(UInt64(index))) : index
            return Draw(slot: Int(random.next(UInt64(slots))), credential: credential, lines: lines, atHospital: random.next(2) == 0,
                        useAccount: random.next(6) != 0, trace: trace)
        }
    }

    /// The jobs of `draws` for one population of cardholders (`cards`), traces prefixed `prefix`.
    static func jobs(_ draws: [Draw], cards: [String], prefix: String, store: Store, answers: Answers) throws -> [SettleJob] {
        var lastToken: [Int: String] = [:]
        return try draws.enumerated().map { index, draw in
            let card = cards[draw.slot]
            let credential: Credential
            switch draw.credential {
            case .rightPIN: credential = .card(number: card, pin: "470291")
            case .wrongPIN: credential = .card(number: card, pin: "000000")
            case .unknownCard: credential = .card(number: "H99999998", pin: "470291")
            case .qr, .reusedQR:
                let token = draw.credential == .reusedQR ? lastToken[draw.slot] : nil
                switch store.cards.issueQR(cardNo: card, by: online) {
                case .success(let issued): credential = .qr(token ?? issued.token); lastToken[draw.slot] = token ?? issued.token
                case .failure: credential = .qr(token ?? "no-token") // a locked card has no token to issue
                }
            }
            let context = draw.atHospital ? hospital : pharmacy
            let claim = ClaimRequest(credential: credential, lines: draw.lines, visit: draw.atHospital ? .outpatient : .pharmacy,
                                     useAccount: draw.useAccount)
            var fingerprint = [UInt8](repeating: 0, count: 32)
            fingerprint[0] = UInt8(draw.slot)
            fingerprint[1] = UInt8(truncatingIfNeeded: draw.lines.count)
            withUnsafeBytes(of: draw.lines[0].price) { fingerprint.replaceSubrange(2..<10, with: $0) }
            let traced = TracedRequest(trace: "\(prefix)-\(draw.trace)", verb: "SETTLE", fingerprint: fingerprint)
            return SettleJob(claim: claim, traced: traced, context: context) { answers.set(index, $0) }
        }
    }

    /// An answer without what differs between populations (settlement ids, QR tokens).
    enum Seen: Equatable {
        case settled(Split, balance: Fen, isRepeat: Bool)
        case refused(ErrorCode, Refusal.Detail?)

        init(_ answer: Answer<Settled>) {
            switch answer {
            case .success(let settled): self = .settled(settled.settlement.split, balance: settled.settlement.balanceAfter, isRepeat: settled.isRepeat)
            case .failure(let refusal): self = .refused(refusal.code, refusal.detail)
            }
        }
    }

    /// What a cardholder's rows say, as text to compare.
    static func effects(_ engine: TestEngine, idNo: String, card: String) throws -> [Int64?] {
        [
            try engine.scalar("SELECT balance FROM person WHERE id_no = $1", [idNo]),
            try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [card]),
            try engine.scalar("SELECT ascii(status) FROM card WHERE card_no = $1", [card]),
            try engine.scalar("""
                SELECT coalesce(sum(deductible_met * 3 + fund_paid * 7), 0) FROM accumulator
                WHERE person_id = (SELECT id FROM person WHERE id_no = $1)
                """, [idNo]),
            try engine.scalar("SELECT count(*) FROM settlement WHERE card_no = $1", [card]),
            try engine.scalar("SELECT coalesce(sum(total + account * 3 + cash * 5), 0) FROM settlement WHERE card_no = $1", [card]),
            try engine.scalar("SELECT count(*) FROM settlement_lines l JOIN settlement s ON s.id = l.settlement_id WHERE s.card_no = $1", [card]),
            try engine.scalar("SELECT count(*) FROM qr_use WHERE card_no = $1", [card]),
            try engine.scalar("SELECT count(*) FROM card_event WHERE card_no = $1 AND event = 'pin_failed'", [card]),
            try engine.scalar("SELECT count(*) FROM card_event WHERE card_no = $1 AND event = 'locked'", [card]),
            try engine.scalar("SELECT count(*) FROM card_event WHERE card_no = $1 AND event = 'qr_paid'", [card]),
        ]
    }

    @Test(arguments: [UInt64(12), 2026])
    func claimsAloneAndTogetherAnswerAndWriteTheSame(seed: UInt64) async throws {
        let engine = try await TestEngine.start()
        var alone: [(String, String)] = [], together: [(String, String)] = []
        for _ in 0..<Self.slots {
            alone.append(try await engine.newCardholder(credit: 6_000))
            together.append(try await engine.newCardholder(credit: 6_000))
        }
        let draws = Self.draws(seed: seed, count: 48)
        let store = engine.store

        let aloneAnswers = Answers(count: draws.count)
        for job in try Self.jobs(draws, cards: alone.map(\.1), prefix: "L\(seed)", store: store, answers: aloneAnswers) {
            store.settlements.settle([job])
        }
        let togetherAnswers = Answers(count: draws.count)
        // A store of its own, to see that its rounds committed together: a round that failed
        // would be retried claim by claim, and prove nothing.
        let metrics = TestMetrics()
        let rounds = try Store(pool: engine.pool, secrets: TestDatabaseServer.shared.secrets, clock: engine.clock, metricsFactory: metrics)
        rounds.settlements.settle(try Self.jobs(draws, cards: together.map(\.1), prefix: "T\(seed)", store: rounds, answers: togetherAnswers))
        await rounds.close()
        #expect(metrics.counterTotal(label: "medsettle_settlements_alone_total") == 0)
        #expect(try metrics.expectRecorder("medsettle_settle_batch_size").values.max() ?? 0 >= 3, "rounds of several cardholders")

        let seenAlone = aloneAnswers.all().map(Seen.init), seenTogether = togetherAnswers.all().map(Seen.init)
        for index in draws.indices {
            #expect(seenAlone[index] == seenTogether[index], "claim \(index): \(draws[index])")
        }
        #expect(seenAlone.contains { if case .settled(_, _, false) = $0 { true } else { false } }, "some claims settle")
        #expect(seenAlone.contains { if case .refused(.pinWrong, _) = $0 { true } else { false } }, "some PINs are wrong")
        for slot in 0..<Self.slots {
            #expect(try Self.effects(engine, idNo: alone[slot].0, card: alone[slot].1)
                    == Self.effects(engine, idNo: together[slot].0, card: together[slot].1), "slot \(slot)")
        }
        await engine.stop()
    }

    /// PRICE and SETTLE take the same decision: a claim priced, then settled, has one split.
    @Test func priceIsWhatSettleSettles() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 6_000)
        let store = engine.store
        for (index, draw) in Self.draws(seed: 7, count: 24).enumerated() where draw.credential == .rightPIN {
            let context = draw.atHospital ? Self.hospital : Self.pharmacy
            let claim = ClaimRequest(credential: .card(number: card, pin: "470291"), lines: draw.lines,
                                     visit: draw.atHospital ? .outpatient : .pharmacy, useAccount: draw.useAccount)
            let priced = store.settlements.price(claim, by: context)
            let answers = Answers(count: 1)
            store.settlements.settle([SettleJob(claim: claim, traced: TracedRequest(trace: "PX-\(index)", verb: "SETTLE",
                                                                                    fingerprint: Array(repeating: 1, count: 32)),
                                                context: context) { answers.set(0, $0) }])
            switch (priced, answers.all()[0]) {
            case (.success(let split), .success(let settled)): #expect(split == settled.settlement.split)
            case (.failure(let a), .failure(let b)): #expect(a.code == b.code)
            default: Issue.record("PRICE and SETTLE disagree on claim \(index): \(priced) vs \(answers.all()[0])")
            }
        }
        await engine.stop()
    }
}

/// Answers collected from settlement callbacks, by index.
final class Answers: Sendable {
    private let answers: Mutex<[Answer<Settled>?]>

    init(count: Int) { answers = Mutex(Array(repeating: nil, count: count)) }

    func set(_ index: Int, _ answer: Answer<Settled>) { answers.withLock { $0[index] = answer } }

    func all() -> [Answer<Settled>] { answers.withLock { $0.map { $0! } } }
}

/// A small seeded generator, so that a failing draw can be replayed.
struct SplitMix {
    private var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next(_ bound: UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) % bound
    }
}
