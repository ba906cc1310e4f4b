import Logging
import MedsettleCore
@testable import MedsettleStore
import PGClient
import Testing

/// A commit whose connection is lost may or may not have happened (`TransactionRunner`): the
/// operation is never answered as not done, never done twice, and never run again blindly (which
/// would present a card again and count a wrong PIN twice).
@Suite(.timeLimit(.minutes(2)))
struct LostCommitTests {
    static let context = TerminalContext(terminal: "P001-01", institution: "P001", kind: .pharmacy, level: 0)
    static let request = TracedRequest(trace: "LC-1", verb: "CREDIT", fingerprint: Array(repeating: 7, count: 32))

    static func runner(_ engine: TestEngine) -> TransactionRunner {
        var logger = Logger(label: "medsettle.test")
        logger.logLevel = .critical
        return TransactionRunner(pool: engine.pool, logger: logger)
    }

    static func recordTrace(_ transaction: borrowing PGTransaction) throws {
        try transaction.recordTrace(request, by: context, answer: StoredAnswer([("balance", "1")]))
    }

    static func traceRecorded(_ connection: PGConnection, _: Int) throws -> Bool? {
        try connection.traceRecorded(request, by: context)
    }

    @Test func aLostCommitThatHappenedAnswersAsDecidedWithoutRunningAgain() async throws {
        let engine = try await TestEngine.start()
        var runs = 0
        let answer = Self.runner(engine).transaction("TEST", resolve: Self.traceRecorded) { transaction in
            runs += 1
            try Self.recordTrace(transaction)
            try transaction.commit()
            throw LostCommit(answer: Answer<Int>.success(42), wrote: true) // as if the connection died after COMMIT
        }
        #expect(answer == .success(42) && runs == 1)
        await engine.stop()
    }

    @Test func aLostCommitThatDidNotHappenRunsOnceMore() async throws {
        let engine = try await TestEngine.start()
        var runs = 0
        let answer = Self.runner(engine).transaction("TEST", resolve: Self.traceRecorded) { transaction -> Answer<Int> in
            runs += 1
            try Self.recordTrace(transaction)
            if runs == 1 { throw LostCommit(answer: Answer<Int>.success(1), wrote: true) } // rolled back: never committed
            return try transaction.commit(answering: .success(2))
        }
        #expect(answer == .success(2) && runs == 2)
        #expect(try engine.scalar("SELECT count(*) FROM trace WHERE trace = 'LC-1'") == 1)
        await engine.stop()
    }

    @Test func aLostRefusalThatWroteIsUnknownAndNotRunAgain() async throws {
        let engine = try await TestEngine.start()
        var runs = 0
        let wrongPIN = Refusal(.pinWrong, "wrong PIN", detail: .attemptsLeft(5))
        let counted = Self.runner(engine).transaction("TEST", resolve: Self.traceRecorded) { _ -> Answer<Int> in
            runs += 1
            throw LostCommit(answer: Answer<Int>.failure(wrongPIN), wrote: true)
        }
        #expect(counted == .failure(.outcomeUnknown) && runs == 1)
        let nothingWritten = Self.runner(engine).transaction("TEST", resolve: Self.traceRecorded) { _ -> Answer<Int> in
            runs += 1
            throw LostCommit(answer: Answer<Int>.failure(wrongPIN), wrote: false)
        }
        #expect(nothingWritten == .failure(wrongPIN) && runs == 2)
        let cannotTell = Self.runner(engine).transaction("TEST", resolve: { _, _ in nil }) { _ -> Answer<Int> in
            runs += 1
            throw LostCommit(answer: Answer<Int>.success(3), wrote: true)
        }
        #expect(cannotTell == .failure(.outcomeUnknown) && runs == 3)
        await engine.stop()
    }

    /// End to end: a wrong PIN whose commit is lost (the backend is terminated inside a deferred
    /// trigger on the card's update) answers BUSY, and the count is not taken twice.
    @Test func aWrongPINWhoseCommitIsLostIsNotCountedTwice() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder(credit: 10_000)
        let admin = try PGConnection(conninfo: engine.conninfo)
        try LostCommits.slowCommits(admin, after: "UPDATE", on: "card")
        let reply = Task {
            try await engine.withTerminal("P001-01") { connection in
                try await connection.request("SETTLE s1 trace=LOST-PIN card=\(card) pin=000000 items=A002*1@1200")
            }
        }
        let terminated = try await LostCommits.terminateWaiting(admin)
        try LostCommits.openGate(admin)
        #expect(terminated == 1)
        let answer = try await reply.value
        #expect(answer.code == "BUSY", "\(answer)")
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [card]) == 0)
        // Sent again, it is counted once.
        let again = try await engine.withTerminal("P001-01") { connection in
            try await connection.request("SETTLE s2 trace=LOST-PIN card=\(card) pin=000000 items=A002*1@1200")
        }
        #expect(again.code == "PIN_WRONG" && again.value("left") == "5", "\(again)")
        #expect(try engine.scalar("SELECT wrong_count FROM card WHERE card_no = $1", [card]) == 1)
        await engine.stop()
    }
}
