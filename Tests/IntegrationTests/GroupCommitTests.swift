import Foundation
import Synchronization
import MedsettleCore
@testable import MedsettleStore
import Testing

/// Group commit (`SettlementRounds.swift`): batches are formed by hand here, so that every rule of
/// a round is exercised deterministically — each answer must be the one the claim would get alone.
@Suite struct GroupCommitTests {
    static let pharmacy = TerminalContext(terminal: "P001-01", institution: "P001", kind: .pharmacy, level: 0)
    static let otherPharmacy = TerminalContext(terminal: "P002-01", institution: "P002", kind: .pharmacy, level: 0)
    static let online = TerminalContext(terminal: "O001-01", institution: "O001", kind: .online, level: 0)

    /// Runs `jobs` as one batch and returns their answers in order.
    static func batch(_ store: Store, _ claims: [(ClaimRequest, String, TerminalContext)]) -> [Answer<Settled>] {
        let answers = AnswerBox(count: claims.count)
        let jobs = claims.enumerated().map { index, claim in
            SettleJob(claim: claim.0, traced: traced(claim.1, claim.0), context: claim.2) { answers.set(index, $0) }
        }
        store.settlements.settle(jobs)
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
        #expect(answers[0].settled?.split.account == 1200 && answers[0].settled?.balanceAfter == 8800)
        #expect(answers[1].refusal == Refusal(.pinWrong, "wrong PIN", detail: .attemptsLeft(5)))
        #expect(answers[2].refusal?.code == .cardNotFound)
        #expect(answers[3].settled?.split.account == 10_000 && answers[3].settled?.split.cash == 800 && answers[3].settled?.balanceAfter == 0)
        #expect(answers[4].settled != nil)
        #expect(try balance(engine, holders[0].0) == 8800)
        #expect(try balance(engine, holders[1].0) == 10_000)
        #expect(try balance(engine, holders[2].0) == 0)
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [holders[1].1]) == 1)
        #expect(try engine.scalar("SELECT count(*) FROM card_event WHERE card_no = $1 AND event = 'pin_failed'", [holders[1].1]) == 1)
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 3)
        #expect(try engine.scalar("SELECT count(*) FROM settlement_lines") == 3)
        #expect(try engine.scalar("SELECT count(*) FROM trace WHERE trace LIKE 'GC-%'") == 3)
        #expect(try engine.scalar("SELECT count(*) FROM accumulator") == 0) // pharmacy A items: account only
        // Settlement ids in replies name the rows written.
        let settled = try #require(answers[0].settled)
        #expect(engine.store.settlements.query(trace: "GC-1", by: Self.pharmacy) == .success(.settlement(settled)))
        await engine.stop()
    }

    /// A round sends its lines as one array per column, each settlement taking its slice: every
    /// settlement keeps its own lines, in their order, whatever the others' counts.
    @Test func eachSettlementOfARoundKeepsItsOwnLinesInOrder() async throws {
        let engine = try await TestEngine.start()
        var holders: [(String, String)] = []
        for _ in 0..<3 { holders.append(try await engine.newCardholder(credit: 10_000)) }
        // Line n of each claim: n boxes of its code at its price.
        let lines: [[(code: String, price: Fen)]] = [
            [("A001", 100)], [("A002", 210), ("A003", 220), ("A004", 230)], [("A005", 310), ("A001", 320)],
        ]
        func claim(_ card: String, _ lines: [(code: String, price: Fen)]) -> ClaimRequest {
            ClaimRequest(credential: .card(number: card, pin: "470291"),
                         lines: lines.enumerated().map {
                             ClaimLine(code: $0.element.code, quantity: Quantity(milli: Int64($0.offset + 1) * 1000), price: $0.element.price)
                         },
                         visit: .pharmacy, useAccount: true)
        }
        let answers = Self.batch(engine.store, zip(holders, lines).enumerated().map { index, pair in
            (claim(pair.0.1, pair.1), "GL-\(index)", Self.pharmacy)
        })
        for (answer, expected) in zip(answers, lines) {
            let id = try #require(answer.settled?.id, "\(answer)")
            let rows = expected.enumerated().map { "(\($0.offset + 1), '\($0.element.code)', \($0.element.price), \(($0.offset + 1) * 1000))" }
            #expect(try engine.scalar("""
                SELECT count(*) FROM settlement_lines WHERE settlement_id = $1
                AND (line_no, code, price, qty_milli) IN (VALUES \(rows.joined(separator: ", ")))
                """, [id]) == Int64(expected.count))
            #expect(try engine.scalar("SELECT count(*) FROM settlement_lines WHERE settlement_id = $1", [id]) == Int64(expected.count))
            #expect(try engine.scalar("SELECT array_lower(line_codes, 1) FROM settlement WHERE id = $1", [id]) == 1)
        }
        #expect(try engine.scalar("SELECT count(*) FROM settlement_lines") == 6)
        await engine.stop()
    }

    /// Settlement ids come from the sequence a block at a time; one front hands them out in order,
    /// and a round that finds the block short takes a new one in its reads.
    @Test func settlementIDsComeInBlocksAndInOrder() async throws {
        let engine = try await TestEngine.start()
        let ids = SettlementIDs()
        #expect(ids.draw(1).reserved == nil)
        let draw = ids.draw(3)
        let first = try engine.pool.withConnection { try $0.query(draw.query) }
        #expect(first.count == SettlementIDs.block)
        #expect(draw.ids(from: first) == Array(first.prefix(3).map(\.id)))
        #expect(ids.draw(2).reserved == first[3..<5].map(\.id))
        #expect(ids.draw(SettlementIDs.block).reserved == nil)
        // Rounds of the engine's own front: consecutive ids, whatever the rounds' sizes.
        var holders: [(String, String)] = []
        for _ in 0..<2 { holders.append(try await engine.newCardholder(credit: 10_000)) }
        let answers = Self.batch(engine.store, [(Self.claim(card: holders[0].1), "ID-1", Self.pharmacy),
                                                 (Self.claim(card: holders[1].1), "ID-2", Self.pharmacy)])
            + Self.batch(engine.store, [(Self.claim(card: holders[0].1), "ID-3", Self.pharmacy)])
        let settled = answers.compactMap { $0.settled?.id }
        #expect(settled.count == 3, "\(answers)")
        #expect(settled == Array(settled[0]...settled[0] + 2))
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
        #expect(answers.map { $0.settled?.split.account } == [1200, 1200, 600])
        #expect(try balance(engine, idNo) == 0)
        await engine.stop()
    }

    /// A repeat is answered from its record even when its claim would be refused now (a round's
    /// first attempt decides before it looks traces up): no wrong PIN counted, no second settlement.
    @Test func aRepeatIsAnsweredFromItsRecordWhateverTheCardSaysNow() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let (_, other) = try await engine.newCardholder(credit: 10_000)
        let settled = try #require(Self.batch(engine.store, [(Self.claim(card: card), "GC-L", Self.pharmacy)])[0].settled)
        // The same request (the fingerprint stands for the amount) with a PIN that does not verify,
        // beside another claim that settles.
        let wrongPIN = Self.batch(engine.store, [(Self.claim(card: card, pin: "000000"), "GC-L", Self.pharmacy),
                                                 (Self.claim(card: other), "GC-M", Self.pharmacy)])
        #expect(wrongPIN[0].isRepeat == true && wrongPIN[0].settled == settled)
        #expect(wrongPIN[1].settled != nil)
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [card]) == 0)
        #expect(try engine.scalar("SELECT count(*) FROM card_event WHERE card_no = $1 AND event = 'pin_failed'", [card]) == 0)
        // Again once the card is reported lost.
        #expect(try engine.scalar("UPDATE card SET status = 'LOST', status_before_loss = status WHERE card_no = $1 RETURNING 1", [card]) == 1)
        let lost = Self.batch(engine.store, [(Self.claim(card: card), "GC-L", Self.pharmacy)])
        #expect(lost[0].isRepeat == true && lost[0].settled == settled)
        #expect(try balance(engine, idNo) == 8800)
        #expect(try engine.scalar("SELECT count(*) FROM settlement WHERE card_no = $1", [card]) == 1)
        await engine.stop()
    }

    /// The same when the repeat first waited behind another repeat of the round (its family payer's)
    /// that was refused: once the payer's claim is answered from its record, the member's is not
    /// decided anew either.
    @Test func aRepeatThatWaitedBehindItsPayerIsAnsweredFromItsRecord() async throws {
        let engine = try await TestEngine.start()
        let (payer, payerCard) = try await engine.newCardholder(credit: 10_000)
        let (member, memberCard) = try await engine.newCardholder(insurance: "resident")
        try await engine.bindFamily(payer: payer, member: member, relation: "child")
        let payerClaim = (Self.claim(card: payerCard), "GC-P", Self.pharmacy)
        let memberClaim = (Self.claim(card: memberCard, amount: 500), "GC-C", Self.pharmacy)
        let payerSettled = try #require(Self.batch(engine.store, [payerClaim])[0].settled)
        let memberSettled = try #require(Self.batch(engine.store, [memberClaim])[0].settled)
        #expect(memberSettled.split.aid == 500)
        for card in [payerCard, memberCard] {
            #expect(try engine.scalar("UPDATE card SET status = 'LOST', status_before_loss = status WHERE card_no = $1 RETURNING 1", [card]) == 1)
        }
        let again = Self.batch(engine.store, [payerClaim, memberClaim])
        #expect(again[0].isRepeat == true && again[0].settled == payerSettled, "\(again[0])")
        #expect(again[1].isRepeat == true && again[1].settled == memberSettled, "\(again[1])")
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 2)
        #expect(try balance(engine, payer) == 10_000 - 1200 - 500)
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
        #expect(first[0].isRepeat == false)
        #expect(first[1].isRepeat == true && first[1].settled == first[0].settled)
        #expect(first[2].refusal?.code == .traceReused)
        let second = Self.batch(engine.store, [
            (Self.claim(card: card), "GC-R", Self.pharmacy),
            (Self.claim(card: other), "GC-S", Self.pharmacy),
        ])
        #expect(second[0].isRepeat == true && second[0].settled == first[0].settled)
        #expect(second[1].settled != nil)
        #expect(try balance(engine, idNo) == 8800)
        #expect(try balance(engine, otherID) == 8800)
        await engine.stop()
    }

    @Test func aQRTokenPaysOnceWithinABatch() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 10_000)
        let token = try engine.store.cards.issueQR(cardNo: card, by: Self.online).get().token
        let qrClaim = ClaimRequest(credential: .qr(token), lines: Self.claim(card: card).lines, visit: .pharmacy, useAccount: true)
        let answers = Self.batch(engine.store, [
            (qrClaim, "GC-Q1", Self.pharmacy),
            (qrClaim, "GC-Q2", Self.otherPharmacy),
            (ClaimRequest(credential: .qr("not-a-token"), lines: qrClaim.lines, visit: .pharmacy, useAccount: true), "GC-Q3", Self.pharmacy),
        ])
        #expect(answers[0].settled != nil)
        #expect(answers[1].refusal?.code == .qrUsed)
        #expect(answers[2].refusal?.code == .qrInvalid)
        #expect(try balance(engine, idNo) == 8800)
        #expect(try engine.scalar("SELECT count(*) FROM qr_use") == 1)
        #expect(try engine.scalar("SELECT count(*) FROM card_event WHERE event = 'qr_paid'") == 1)
        // A token used by an earlier batch is refused in a later one.
        let again = Self.batch(engine.store, [(qrClaim, "GC-Q4", Self.pharmacy)])
        #expect(again[0].refusal?.code == .qrUsed)
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
        #expect(answers[0].settled != nil)
        #expect(answers[1].refusal?.code == .internal)
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
                        let answer = await withCheckedContinuation { continuation in
                            store.settlements.settle(claim, traced: Self.traced("GC-Q-\(index)-\(round)", claim), by: Self.pharmacy) {
                                continuation.resume(returning: $0)
                            }
                        }
                        return (index, answer.settled?.split.account ?? 0)
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
private final class AnswerBox: Sendable {
    private let answers: Mutex<[Answer<Settled>?]>

    init(count: Int) { answers = Mutex(Array(repeating: nil, count: count)) }

    func set(_ index: Int, _ answer: Answer<Settled>) {
        answers.withLock { $0[index] = answer }
    }

    func all() -> [Answer<Settled>] {
        answers.withLock { $0.map { $0! } }
    }
}

extension Result where Success == Settled, Failure == Refusal {
    /// The settlement made or repeated, if the answer is OK.
    var settled: SettlementRecord? { (try? get())?.settlement }
    var isRepeat: Bool? { (try? get())?.isRepeat }
    var refusal: Refusal? {
        if case .failure(let refusal) = self { return refusal }
        return nil
    }
}
