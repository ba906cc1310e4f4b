import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleStore
import NIOCore
import Testing

@testable import MedsettleServer

/// The connection's decisions, event by event, without a channel.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    typealias Outbound = ConnectionStateMachine.Outbound

    static func machine(maxInFlight: Int = 128) -> Machine {
        Machine(maxInFlight: maxInFlight, idleTimeout: .seconds(300), session: Session(challenge: "00"))
    }

    static func line(_ text: String) -> FramedLine { .line(Array(text.utf8)) }
    static func route(_ text: String) -> Machine.Action { .route(Array(text.utf8)) }
    static func ok(_ tag: String, _ action: SessionAction = .none) -> RoutedReply {
        RoutedReply(reply: .ok(tag: tag), action: action)
    }

    /// The bytes of these replies, as one write.
    static func out(_ replies: Reply...) -> Outbound {
        var out = Outbound()
        for reply in replies { reply.encode(into: &out.bytes) }
        out.replies = replies.count
        return out
    }

    @Test func linesAreRoutedOneAtATimeAndTheirRepliesLeaveTogetherAtReadComplete() {
        var m = Self.machine()
        #expect(m.lineRead(Self.line("PING a")) == Self.route("PING a"))
        #expect(m.lineRead(Self.line("PING b")) == .none) // a is with the router
        #expect(m.linesInFlight == 2)
        #expect(m.replyReady(Self.ok("a")) == Self.route("PING b"))
        #expect(m.replyReady(Self.ok("b")) == .none) // still inside the socket read
        #expect(m.readComplete() == .write(Self.out(.ok(tag: "a"), .ok(tag: "b"))))
        #expect(m.nextAction() == .none)
        #expect(m.repliesUnsent == 2)
        #expect(m.writeCompleted(replies: 2) == .none)
        #expect(m.repliesUnsent == 0 && m.linesInFlight == 0)
    }

    @Test func aReplyBeforeASlowLineLeavesWhileTheSlowLineWorks() {
        var m = Self.machine()
        #expect(m.lineRead(Self.line("PING a")) == Self.route("PING a"))
        #expect(m.replyReady(Self.ok("a")) == .none)
        #expect(m.lineRead(Self.line("SLOW b")) == Self.route("SLOW b"))
        #expect(m.readComplete() == .write(Self.out(.ok(tag: "a"))))
        #expect(m.replyReady(Self.ok("b")) == .write(Self.out(.ok(tag: "b"))))
    }

    @Test func anEmptyLineIsIgnored() {
        var m = Self.machine()
        #expect(m.lineRead(.line([])) == .route([]))
        #expect(m.lineIgnored() == .none)
        #expect(m.readComplete() == .none)
        #expect(m.linesInFlight == 0)
    }

    @Test func readsAreHeldAtTheInFlightBoundAndResumeWhenALineIsAnswered() {
        var m = Self.machine(maxInFlight: 2)
        #expect(m.readRequested() == .read)
        #expect(m.lineRead(Self.line("SLOW a")) == Self.route("SLOW a"))
        #expect(m.lineRead(Self.line("SLOW b")) == .none)
        #expect(m.readComplete() == .none)
        #expect(m.readRequested() == .holdRead)
        #expect(m.readRequested() == .none) // already held: announced once
        #expect(m.replyReady(Self.ok("a")) == Self.route("SLOW b"))
        // a's reply leaves while b works; it counts until written.
        #expect(m.nextAction() == .write(Self.out(.ok(tag: "a"))))
        #expect(m.nextAction() == .none)
        #expect(m.writeCompleted(replies: 1) == .resumeRead)
        #expect(m.readHeld == false)
    }

    @Test func repliesNotYetWrittenCountAgainstTheBound() {
        var m = Self.machine(maxInFlight: 2)
        _ = m.lineRead(Self.line("PING a"))
        _ = m.replyReady(Self.ok("a"))
        _ = m.lineRead(Self.line("PING b"))
        _ = m.replyReady(Self.ok("b"))
        #expect(m.readComplete() == .write(Self.out(.ok(tag: "a"), .ok(tag: "b"))))
        #expect(m.linesInFlight == 0)
        // Both replies sit in the channel (the client does not read): no more input.
        #expect(m.readRequested() == .holdRead)
        #expect(m.writeCompleted(replies: 2) == .resumeRead)
        #expect(m.readRequested() == .read)
    }

    @Test func anUnwritableChannelHoldsReadsUntilWritableAgain() {
        var m = Self.machine()
        #expect(m.writabilityChanged(writable: false) == .none)
        #expect(m.readRequested() == .holdRead)
        #expect(m.writabilityChanged(writable: true) == .resumeRead)
        #expect(m.writabilityChanged(writable: true) == .none)
    }

    @Test func signOutFinishesGentlyWithItsReply() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("SIGNOUT t1"))
        _ = m.lineRead(Self.line("PING t2")) // after SIGNOUT: never answered
        #expect(m.replyReady(Self.ok("t1", .close)) == .finish(Self.out(.ok(tag: "t1"))))
        #expect(m.state == .finishing)
        #expect(m.readComplete() == .none)
        #expect(m.lineRead(Self.line("PING t3")) == .none) // input is dropped
        #expect(m.readRequested() == .read) // and read on, so the client's close is seen
        #expect(m.inputClosed() == .closeNow(Outbound()))
        #expect(m.state == .closed)
    }

    @Test func theThirdFailedSignInFinishesGently() {
        var m = Self.machine()
        let refused = { (tag: String) in
            RoutedReply(reply: .error(tag: tag, code: .authFailed, message: "no"), action: .authFailed)
        }
        for tag in ["a", "b"] {
            #expect(m.lineRead(Self.line("SIGNIN \(tag)")) == Self.route("SIGNIN \(tag)"))
            #expect(m.replyReady(refused(tag)) == .none)
        }
        #expect(m.session.authFailures == 2)
        _ = m.lineRead(Self.line("SIGNIN c"))
        let expected = Self.out(refused("a").reply, refused("b").reply, refused("c").reply)
        #expect(m.replyReady(refused("c")) == .finish(expected))
    }

    @Test func aLineTooLongIsAnsweredAfterTheLinesBeforeIt() {
        var m = Self.machine()
        #expect(m.lineRead(Self.line("SLOW a")) == Self.route("SLOW a"))
        #expect(m.lineRead(.tooLong) == .none)
        let tooLong = Reply.error(tag: "*", code: .lineTooLong, message: "request line is longer than the limit")
        #expect(m.replyReady(Self.ok("a")) == .finish(Self.out(.ok(tag: "a"), tooLong)))
    }

    @Test func eofClosesOnceEveryReplyIsWritten() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("PING a"))
        _ = m.replyReady(Self.ok("a"))
        #expect(m.readComplete() == .write(Self.out(.ok(tag: "a"))))
        _ = m.lineRead(Self.line("SLOW b"))
        #expect(m.readComplete() == .none)
        #expect(m.inputClosed() == .none) // b is still with the router
        #expect(m.replyReady(Self.ok("b")) == .write(Self.out(.ok(tag: "b")))) // a's write is not done
        #expect(m.writeCompleted(replies: 1) == .none)
        #expect(m.writeCompleted(replies: 1) == .close(Outbound()))
        #expect(m.state == .closed)
    }

    @Test func eofWithEverythingWrittenClosesWithTheLastReply() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("SLOW a"))
        _ = m.readComplete()
        #expect(m.inputClosed() == .none)
        #expect(m.replyReady(Self.ok("a")) == .close(Self.out(.ok(tag: "a"))))
    }

    @Test func drainAnswersWhatWasReadReadsNoMoreThenFinishesUnavailable() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("SLOW a"))
        _ = m.readComplete()
        #expect(m.drainRequested() == .none)
        #expect(m.readRequested() == .holdRead)
        let unavailable = Reply.error(tag: "*", code: .unavailable, message: "the engine is shutting down")
        #expect(m.replyReady(Self.ok("a")) == .finish(Self.out(.ok(tag: "a"), unavailable)))

        var idle = Self.machine()
        #expect(idle.drainRequested() == .finish(Self.out(unavailable)))
    }

    @Test func theIdleTimerWaitsForWorkThenFinishesBusy() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("SLOW a"))
        #expect(m.idleTimerFired() == .none)
        _ = m.replyReady(Self.ok("a"))
        _ = m.readComplete()
        let idle = Reply.error(tag: "*", code: .busy, message: "closing a connection idle for 300 s")
        #expect(m.idleTimerFired() == .finish(Self.out(idle)))
        #expect(m.idleTimerFired() == .none)
    }

    static let notSignedIn = Reply.error(tag: "*", code: .notSignedIn, message: "not signed in within 10 s")
    static let signedIn = SessionAction.signedIn(TerminalContext(terminal: "P001-01", institution: "P001", kind: .pharmacy, level: 0),
                                                 SignedInStanding(keyVersion: 1, disabledCount: 0))

    @Test func theSignInDeadlineFinishesAConnectionNotSignedIn() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("PING a"))
        _ = m.replyReady(Self.ok("a"))
        _ = m.readComplete()
        #expect(m.signInTimerFired() == .finish(Self.out(Self.notSignedIn)))
        #expect(m.state == .finishing)
        #expect(m.signInTimerFired() == .none)
    }

    /// A client that keeps a line in flight (here one with the router) cannot put the deadline
    /// off; the replies answered before it still leave first.
    @Test func theSignInDeadlineDoesNotWaitForLinesInFlight() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("PING a"))
        _ = m.replyReady(Self.ok("a"))
        _ = m.lineRead(Self.line("SLOW b"))
        #expect(m.signInTimerFired() == .finish(Self.out(.ok(tag: "a"), Self.notSignedIn)))
        #expect(m.replyReady(Self.ok("b")) == .none)
    }

    @Test func theSignInDeadlineLeavesASignedInConnectionAlone() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("SIGNIN a"))
        _ = m.replyReady(Self.ok("a", Self.signedIn))
        _ = m.readComplete()
        #expect(m.signInTimerFired() == .none)
        #expect(m.state == .open)
    }

    /// Before sign-in a connection may send 16 lines (only PING and SIGNIN are served); the 17th
    /// closes it at once with `* ERR NOT_SIGNED_IN`, after the replies to the 16.
    @Test func aConnectionThatDoesNotSignInMaySendSixteenLines() {
        var m = Self.machine()
        var answered: [Reply] = []
        for index in 1...Session.maxLinesBeforeSignIn {
            #expect(m.lineRead(Self.line("PING p\(index)")) == Self.route("PING p\(index)"))
            #expect(m.replyReady(Self.ok("p\(index)")) == .none)
            answered.append(.ok(tag: "p\(index)"))
        }
        let tooMany = Reply.error(tag: "*", code: .notSignedIn, message: "more than 16 requests before signing in")
        var expected = Outbound()
        for reply in answered + [tooMany] { reply.encode(into: &expected.bytes) }
        expected.replies = answered.count + 1
        #expect(m.lineRead(Self.line("PING p17")) == .closeNow(expected))
        #expect(m.state == .closed)
    }

    /// Once signed in, the count before sign-in no longer matters.
    @Test func aSignedInConnectionIsNotCountedAgainstTheLimitBeforeSignIn() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("SIGNIN a"))
        _ = m.replyReady(Self.ok("a", Self.signedIn))
        for index in 1...(2 * Session.maxLinesBeforeSignIn) {
            #expect(m.lineRead(Self.line("PING p\(index)")) == Self.route("PING p\(index)"))
            _ = m.replyReady(Self.ok("p\(index)"))
        }
        #expect(m.state == .open)
    }

    /// A finishing connection drops what it reads, but a client that keeps sending is closed at
    /// once after 1 MiB rather than read at full speed until the 2 s are up.
    @Test func aFinishingConnectionDropsABoundedAmountThenCloses() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("SIGNOUT t1"))
        _ = m.replyReady(Self.ok("t1", .close))
        let line = String(repeating: "x", count: 1023) // 1 KiB with its LF
        for _ in 0..<(Machine.maxDroppedWhileFinishing / 1024) {
            #expect(m.lineRead(Self.line(line)) == .none)
        }
        #expect(m.lineRead(Self.line("PING one-more")) == .closeNow(Outbound()))
        #expect(m.state == .closed)
    }

    @Test func aFailedRouteClosesAtOnceAfterTheRepliesAlreadyAnswered() {
        var m = Self.machine()
        _ = m.lineRead(Self.line("PING a"))
        _ = m.replyReady(Self.ok("a"))
        _ = m.lineRead(Self.line("SLOW b"))
        #expect(m.routeFailed() == .closeNow(Self.out(.ok(tag: "a"))))
        #expect(m.replyReady(Self.ok("late")) == .none)
        #expect(m.readRequested() == .none)
    }
}
