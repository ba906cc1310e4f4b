import Foundation
import MSLP
import MSLPChannel
import Synchronization
import MedsettleCore

/// Requests of the mixed load whose answers are known in advance, because they test what must
/// hold across connections — and, behind HAProxy, across engine processes, since a terminal's
/// second connection (`side`) may land on another front:
/// - **idempotency**: a SETTLE sent again on the other connection answers the first settlement,
///   `repeat=1`;
/// - **reversal blocks**: a REVERSE of a trace not sent yet answers `state=blocked`, and the late
///   original on the other connection is refused `REVERSED`;
/// - **lockout counts**: wrong PINs on the connection's own card, alternating connections, answer
///   `left=5` … `left=1` and then `CARD_LOCKED`, which later holds even for the right PIN;
/// - **QR single use**: a QR code just paid with, offered again with a new trace on the other
///   connection, is refused `QR_USED`;
/// - **traceability codes sold once**: a code of a settlement that stands, offered again in a new
///   claim on the other connection, is refused `TRACE_CODE_USED` naming it.
/// An answer of an outage (`BUSY`, `UNAVAILABLE`) proves nothing either way and is skipped.
enum Probe {
    case repeatOf(settlement: String)
    /// The REVERSE, carrying the SETTLE content it blocks.
    case lateOriginal(content: String)
    case lockout
    /// A code sold by one of the connection's settlements that stands.
    case codeReuse(code: String)
}

/// The probes' verdicts, shared by all connections.
public final class ProbeTally: Sendable {
    private struct Verdicts {
        var passes: [String: Int] = [:]
        var skips = 0
        var failures = 0
        var firstFailures: [String] = []
    }

    private let verdicts = Mutex(Verdicts())

    /// Passed probes by kind (`repeat`, `late_original`, `lockout`, `qr_reuse`, `code_reuse`).
    public var passed: [String: Int] { verdicts.withLock { $0.passes } }
    public var skipped: Int { verdicts.withLock { $0.skips } }
    public var failed: Int { verdicts.withLock { $0.failures } }
    /// The first few failures, described.
    public var failures: [String] { verdicts.withLock { $0.firstFailures } }

    func pass(_ kind: String) { verdicts.withLock { $0.passes[kind, default: 0] += 1 } }
    func skip() { verdicts.withLock { $0.skips += 1 } }
    func fail(_ kind: String, _ detail: String) {
        verdicts.withLock {
            $0.failures += 1
            if $0.firstFailures.count < 10 { $0.firstFailures.append("\(kind): \(detail)") }
        }
    }
}

/// Runs the probes of one terminal: `main` is its connection, `side` its second one.
struct ProbeRunner {
    let main: MSLPConnection
    let side: MSLPConnection
    let recorder: ReplyRecorder
    let tally: ProbeTally
    let inFlight: InFlight

    /// An answer that only says the database was out of reach or busy.
    static func isOutage(_ reply: ReplyLine) -> Bool { reply.code == "BUSY" || reply.code == "UNAVAILABLE" }

    static func describe(_ reply: ReplyLine) -> String {
        ([reply.ok ? "OK" : "ERR " + (reply.code ?? "?")] + reply.fields.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
    }

    /// Runs one probe; true when an answer was an outage's (and the probe skipped).
    func run(_ op: Operation, _ probe: Probe, _ state: inout WorkerState, sentAt: ContinuousClock.Instant) async throws -> Bool {
        switch probe {
        case .repeatOf(let settlement):
            let reply = try await send(op, on: side, sentAt: sentAt)
            if Self.isOutage(reply) { return skip() }
            if reply.ok, reply.value("repeat") == "1", reply.value("settlement") == settlement { return pass("repeat") }
            return fail("repeat", "trace \(op.trace) of settlement \(settlement) answered \(Self.describe(reply))")

        case .lateOriginal(let content):
            let reverse = try await send(op, on: main, sentAt: sentAt)
            if Self.isOutage(reverse) { return skip() }
            guard reverse.ok, reverse.value("state") == "blocked" else {
                return fail("late_original", "REVERSE of unsent trace \(op.trace) answered \(Self.describe(reverse))")
            }
            let late = Operation(.lateOriginal, "SETTLE \(state.nextTag()) \(content)", trace: op.trace)
            let reply = try await send(late, on: side, sentAt: .now, expectsRefusal: true)
            if Self.isOutage(reply) { return skip() }
            if reply.code == "REVERSED" { return pass("late_original") }
            return fail("late_original", "the late original of reversed trace \(op.trace) answered \(Self.describe(reply))")

        case .lockout:
            return try await lockout(op, &state, sentAt: sentAt)

        case .codeReuse(let code):
            let reply = try await send(op, on: side, sentAt: sentAt, expectsRefusal: true)
            if Self.isOutage(reply) { return skip() }
            if reply.code == "TRACE_CODE_USED", reply.value("code") == code { return pass("code_reuse") }
            // The card and its PIN are checked before the lines: a drawn card the run has since
            // locked, or whose PIN another worker's probe is trying, proves nothing about codes.
            if Self.cardRefusals.contains(reply.code ?? "") { return skip() }
            return fail("code_reuse", "code \(code), sold by a standing settlement, offered again answered \(Self.describe(reply))")
        }
    }

    /// Refusals about the card or its PIN, which come before any line is looked at.
    static let cardRefusals: Set<String> = ["CARD_LOCKED", "CARD_LOST", "CARD_CANCELLED", "CARD_REPLACED", "CARD_NOT_FOUND",
                                            "PIN_WRONG", "PIN_CHANGE_REQUIRED"]

    /// A PIN try on the connection's own card, on `main` or `side` in turn. The count it answers
    /// must be one more than the last answer said (two more if a try in between went unanswered):
    /// a count lost to a crash or a failover would answer less.
    private func lockout(_ op: Operation, _ state: inout WorkerState, sentAt: ContinuousClock.Instant) async throws -> Bool {
        let reply = try await send(op, on: state.sequence % 2 == 0 ? main : side, sentAt: sentAt, expectsRefusal: true)
        if Self.isOutage(reply) {
            if reply.code == "BUSY" { state.ownCardMaybeOneMore = true } // perhaps counted, perhaps not
            return skip()
        }
        let now: Int
        if reply.code == "CARD_LOCKED" {
            now = PinPolicy.lockThreshold
        } else if reply.code == "PIN_WRONG", let left = reply.value("left").flatMap(Int.init) {
            now = PinPolicy.lockThreshold - left
        } else {
            return fail("lockout", "PIN try on \(state.ownCard ?? "?") answered \(Self.describe(reply))")
        }
        let known = state.ownCardWrongPINs
        let maybeOneMore = state.ownCardMaybeOneMore
        state.ownCardWrongPINs = now
        state.ownCardMaybeOneMore = false
        guard let known else { // the first answer tells where the count stands
            tally.skip()
            return false
        }
        let expected = min(known + 1, PinPolicy.lockThreshold)
        if now == expected || (maybeOneMore && now == min(known + 2, PinPolicy.lockThreshold)) { return pass("lockout") }
        return fail("lockout", "after \(known) wrong PINs on \(state.ownCard ?? "?") the next try answered \(Self.describe(reply))")
    }

    /// After a QR payment answered OK on `main`: the same code with a new trace on `side`.
    @discardableResult
    func offerAgain(_ paid: Operation, line: String, _ state: inout WorkerState) async throws -> Bool {
        let trace = paid.trace + "q"
        let words = line.split(separator: " ")
        guard let qr = words.first(where: { $0.hasPrefix("qr=") }), let items = words.first(where: { $0.hasPrefix("items=") }) else {
            return false
        }
        let again = Operation(.qrReuse, "SETTLE \(state.nextTag()) trace=\(trace) \(items) \(qr)", trace: trace)
        let reply = try await send(again, on: side, sentAt: .now, expectsRefusal: true)
        if Self.isOutage(reply) { return skip() }
        if reply.code == "QR_USED" { return pass("qr_reuse") }
        return fail("qr_reuse", "a QR code paid with under \(paid.trace), offered again, answered \(Self.describe(reply))")
    }

    /// Verdicts; each says whether the answer was an outage's.
    /// An outage's answer proves nothing either way.
    private func skip() -> Bool {
        tally.skip()
        return true
    }

    private func pass(_ kind: String) -> Bool {
        tally.pass(kind)
        return false
    }

    private func fail(_ kind: String, _ detail: String) -> Bool {
        tally.fail(kind, detail)
        return false
    }

    /// Sends one probe request and records its reply. A probe that wrongly settles is counted as
    /// created, so that the database check agrees with the replies and the probe's own failure
    /// is what the run reports.
    private func send(_ op: Operation, on connection: MSLPConnection, sentAt: ContinuousClock.Instant,
                      expectsRefusal: Bool = false) async throws -> ReplyLine {
        inFlight.operation = op
        let reply = try await connection.request(op.line)
        if reply.tag == "*" { throw MSLPConnection.Closed() }
        inFlight.operation = nil
        recorder.record(op.kind, reply, sentAt: sentAt, expectsRefusal: expectsRefusal)
        if [.lateOriginal, .qrReuse, .codeReuse].contains(op.kind), reply.ok, reply.value("repeat") == nil {
            recorder.stats.noteResolvedSettlement(byQR: op.kind == .qrReuse)
        }
        return reply
    }
}
