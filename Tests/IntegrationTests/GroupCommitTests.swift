import Foundation
import MedsettleCore
@testable import MedsettleStore
import Testing

/// Group commit (`SettlementBatch.swift`): batches are formed by hand here, so that every rule of
/// a batch is exercised deterministically — each answer must be the one the claim would get alone.
@Suite struct GroupCommitTests {
    static let pharmacy = TerminalContext(terminal: "P001-01", institution: "P001", kind: .pharmacy, level: 0)
    static let otherPharmacy = TerminalContext(terminal: "P002-01", institution: "P002", kind: .pharmacy, level: 0)

    /// Runs `jobs` as one batch and returns their answers in order.
    static func batch(_ store: Store, _ claims: [(ClaimRequest, String, TerminalContext)]) -> [Outcome] {
        let answers = AnswerBox(count: claims.count)
        let jobs = claims.enumerated().map { index, claim in
            SettleJob(claim: claim.0, traced: traced(claim.1, claim.0), context: claim.2) { answers.set(index, $0) }
        }
        store.settleBatch(jobs)
        return answers.all()
    }

    /// `boxes` of A002 (in scope up to its 12-yuan price limit) at `amount` fen each.
    static func claim(card: String, pin: String = "470291", amount: Fen = 1200, boxes: Int64 = 1) -> ClaimRequest {
        ClaimRequest(credential: .card(number: card, pin: pin),
                     lines: [ClaimLine(code: "A002", quantity: Quantity(milli: boxes * 1000), price: amount)],
                     visit: .pharmacy, useAccount: true)
    }

    /// The fingerprint stands for the claim's content: the amount of its line.
    static func traced(_ trace: String, _ claim: ClaimRequest) -> TracedRequest {
        var fingerprint = [UInt8](repeating: 0, count: 32)
        withUnsafeBytes(of: claim.lines[0].price.bigEndian) { fingerprint.replaceSubrange(0..<8, with: $0) }
        return TracedRequest(trace: trace, verb: "SETTLE", fingerprint: fingerprint)
    }

    func balance(_ engine: TestEngine, _ idNo: String) throws -> Int64? {
        try engine.scalar("SELECT balance FROM person WHERE id_no = $1", [idNo])
    }

    @Test func aBatchAnswersEachClaimAsIfAlone() async throws {
        let engine = try await TestEngine.start()
        var holders: [(String, String)] = []
        for _ in 0..<4 { holders.append(try await engine.newCardholder(credit: 10_000)) }
        let answers = Self.batch(engine.store, [
            (Self.claim(card: holders[0].1), "GC-1", Self.pharmacy),
            (Self.claim(card: holders[1].1, pin: "000000"), "GC-2", Self.pharmacy),
            (Self.claim(card: "H99999999"), "GC-3", Self.pharmacy),
            (Self.claim(card: holders[2].1, boxes: 9), "GC-4", Self.otherPharmacy),
            (Self.claim(card: holders[3].1), "GC-5", Self.otherPharmacy),
        ])
        #expect(answers[0].isOK && answers[0].value("account") == "1200" && answers[0].value("balance") == "8800")
        #expect(answers[1].code == .pinWrong && answers[1].value("left") == "5")
        #expect(answers[2].code == .cardNotFound)
        #expect(answers[3].isOK && answers[3].value("account") == "10000" && answers[3].value("cash") == "800" && answers[3].value("balance") == "0")
        #expect(answers[4].isOK)
        #expect(try balance(engine, holders[0].0) == 8800)
        #expect(try balance(engine, holders[1].0) == 10_000)
        #expect(try balance(engine, holders[2].0) == 0)
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [holders[1].1]) == 1)
        #expect(try engine.scalar("SELECT count(*) FROM card_event WHERE card_no = $1 AND event = 'pin_failed'", [holders[1].1]) == 1)
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 3)
        #expect(try engine.scalar("SELECT count(*) FROM settlement_line") == 3)
        #expect(try engine.scalar("SELECT count(*) FROM trace WHERE trace LIKE 'GC-%'") == 3)
        #expect(try engine.scalar("SELECT count(*) FROM accumulator") == 0) // pharmacy A items: account only
        // Settlement ids in replies name the rows written.
        let id = try #require(answers[0].value("settlement"))
        let query = engine.store.query(trace: "GC-1", by: Self.pharmacy)
        #expect(query.value("settlement") == id && query.value("state") == "settled")
        await engine.stop()
    }

    @Test func twoClaimsOfOneCardBothSettleInTurn() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 3000)
        let answers = Self.batch(engine.store, [
            (Self.claim(card: card), "GC-A", Self.pharmacy),
            (Self.claim(card: card), "GC-B", Self.otherPharmacy),
            (Self.claim(card: card), "GC-C", Self.pharmacy),
        ])
        #expect(answers.map(\.isOK) == [true, true, true])
        #expect(answers.map { $0.value("account") } == ["1200", "1200", "600"])
        #expect(try balance(engine, idNo) == 0)
        await engine.stop()
    }

    @Test func repeatsInAndAcrossBatchesAnswerTheFirstResult() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let (otherID, other) = try await engine.newCardholder(credit: 10_000)
        let first = Self.batch(engine.store, [
            (Self.claim(card: card), "GC-R", Self.pharmacy),
            (Self.claim(card: card), "GC-R", Self.pharmacy),          // a twin in the same batch
            (Self.claim(card: other, amount: 500), "GC-R", Self.pharmacy), // other content, same trace
        ])
        #expect(first[0].isOK && first[0].value("repeat") == nil)
        #expect(first[1].isOK && first[1].value("repeat") == "1" && first[1].value("settlement") == first[0].value("settlement"))
        #expect(first[2].code == .traceReused)
        let second = Self.batch(engine.store, [
            (Self.claim(card: card), "GC-R", Self.pharmacy),
            (Self.claim(card: other), "GC-S", Self.pharmacy),
        ])
        #expect(second[0].value("repeat") == "1" && second[0].value("settlement") == first[0].value("settlement"))
        #expect(second[1].isOK)
        #expect(try balance(engine, idNo) == 8800)
        #expect(try balance(engine, otherID) == 8800)
        await engine.stop()
    }

    /// A batch whose COMMIT was lost is settled again one by one (`outcomeUnknown`). When the lost
    /// commit did happen, the retry finds the claim's own trace: it answers the settlement as
    /// done, without `repeat=1` (the terminal sent the claim once), and moves no money again.
    @Test func theRetryAfterALostCommitThatHappenedIsNoRepeat() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let claim = Self.claim(card: card)
        let first = Self.batch(engine.store, [(claim, "GC-LOST", Self.pharmacy)])[0]
        let retried = engine.store.settleAlone(claim, traced: Self.traced("GC-LOST", claim), by: Self.pharmacy, outcomeUnknown: true)
        #expect(first.isOK && retried.isOK)
        #expect(retried.value("repeat") == nil)
        #expect(retried.value("settlement") == first.value("settlement"))
        let repeated = engine.store.settleAlone(claim, traced: Self.traced("GC-LOST", claim), by: Self.pharmacy)
        #expect(repeated.value("repeat") == "1", "a terminal's own second send is still a repeat")
        #expect(try balance(engine, idNo) == 8800)
        await engine.stop()
    }

    @Test func aQRTokenPaysOnceWithinABatch() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let token = engine.store.qrTokens.issue(cardNo: card, now: engine.clock.now()).token
        let qrClaim = ClaimRequest(credential: .qr(token), lines: Self.claim(card: card).lines, visit: .pharmacy, useAccount: true)
        let answers = Self.batch(engine.store, [
            (qrClaim, "GC-Q1", Self.pharmacy),
            (qrClaim, "GC-Q2", Self.otherPharmacy),
            (ClaimRequest(credential: .qr("not-a-token"), lines: qrClaim.lines, visit: .pharmacy, useAccount: true), "GC-Q3", Self.pharmacy),
        ])
        #expect(answers[0].isOK)
        #expect(answers[1].code == .qrUsed)
        #expect(answers[2].code == .qrInvalid)
        #expect(try balance(engine, idNo) == 8800)
        #expect(try engine.scalar("SELECT count(*) FROM qr_use") == 1)
        #expect(try engine.scalar("SELECT count(*) FROM card_event WHERE event = 'qr_paid'") == 1)
        // A token used by an earlier batch is refused in a later one.
        let again = Self.batch(engine.store, [(qrClaim, "GC-Q4", Self.pharmacy)])
        #expect(again[0].code == .qrUsed)
        await engine.stop()
    }

    /// A batch whose transaction fails (here a terminal row that does not exist breaks a foreign
    /// key) keeps nothing; every claim then runs alone, and only the bad one is refused.
    @Test func aFailedBatchFallsBackToOneByOne() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let (otherID, other) = try await engine.newCardholder(credit: 10_000)
        let ghost = TerminalContext(terminal: "GHOST-01", institution: "P001", kind: .pharmacy, level: 0)
        let answers = Self.batch(engine.store, [
            (Self.claim(card: card), "GC-F1", Self.pharmacy),
            (Self.claim(card: other), "GC-F2", ghost),
        ])
        #expect(answers[0].isOK)
        #expect(answers[1].code == .internal)
        #expect(try balance(engine, idNo) == 8800)
        #expect(try balance(engine, otherID) == 10_000)
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 1)
        await engine.stop()
    }

    /// Many terminals settling at once through the queue: batches form on their own, and every
    /// cardholder ends with exactly what their OK answers took.
    @Test func concurrentSettlementsThroughTheQueueAreExact() async throws {
        let engine = try await TestEngine.start()
        var holders: [(String, String)] = []
        for _ in 0..<6 { holders.append(try await engine.newCardholder(credit: 5000)) }
        let store = engine.store
        let taken = try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
            for round in 0..<8 {
                for (index, holder) in holders.enumerated() {
                    group.addTask {
                        let claim = Self.claim(card: holder.1, amount: 700)
                        let outcome = await withCheckedContinuation { continuation in
                            store.settle(claim, traced: Self.traced("GC-Q-\(index)-\(round)", claim), by: Self.pharmacy) {
                                continuation.resume(returning: $0)
                            }
                        }
                        return (index, outcome.isOK ? Int64(outcome.value("account") ?? "0")! : 0)
                    }
                }
            }
            var taken = [Int64](repeating: 0, count: holders.count)
            for try await (index, amount) in group { taken[index] += amount }
            return taken
        }
        for (index, holder) in holders.enumerated() {
            #expect(taken[index] == 5000) // 7 claims of 700, then the last 100 (the rest in cash)
            #expect(try balance(engine, holder.0) == 0)
        }
        await engine.stop()
    }
}

/// Answers collected from settlement worker callbacks.
private final class AnswerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [Outcome?]

    init(count: Int) { answers = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ outcome: Outcome) {
        lock.lock()
        answers[index] = outcome
        lock.unlock()
    }

    func all() -> [Outcome] {
        lock.lock()
        defer { lock.unlock() }
        return answers.map { $0! }
    }
}
