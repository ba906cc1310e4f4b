import Logging
import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleStore
import NIOCore
import NIOPosix
import Synchronization
import Tracing

/// A reply to send and what to do after it.
struct RoutedReply: Sendable {
    let reply: Reply
    let action: SessionAction
}

/// The outcome of routing one line: answered at once, or after work on a database thread.
enum RouteStep {
    case none
    case now(RoutedReply)
    case later(EventLoopFuture<RoutedReply>)
}

/// Turns request lines into replies: parse, sign-in and kind checks, field decoding, then the
/// store's operation on a thread of the blocking pool (libpq never runs on an event loop).
struct RequestRouter: Sendable {
    let store: Store
    let threadPool: NIOThreadPool
    let metrics: ServerMetrics
    let logger: Logger
    /// Requests handed to the thread pool and not yet done, across all connections.
    let queued: QueuedWork
    /// Failed sign-ins by client address, across all connections.
    let signInFailures: SignInFailures

    init(store: Store, threadPool: NIOThreadPool, metrics: ServerMetrics, maxQueued: Int,
         signInFailures: SignInFailures, logger: Logger) {
        self.store = store
        self.threadPool = threadPool
        self.metrics = metrics
        self.logger = logger
        self.queued = QueuedWork(limit: maxQueued)
        self.signInFailures = signInFailures
    }

    /// Runs `work` on a database thread, or answers BUSY at once when too much is already waiting.
    private func onDatabaseThread<T: Sendable>(_ eventLoop: any EventLoop, _ work: @escaping @Sendable () -> T) -> EventLoopFuture<T>? {
        guard queued.admit() else {
            metrics.requestsShed.increment()
            return nil
        }
        let queued = self.queued
        let future = threadPool.runIfActive(eventLoop: eventLoop, work)
        future.whenComplete { _ in queued.done() }
        return future
    }

    private static func busy(_ tag: String) -> RouteStep {
        .now(RoutedReply(reply: .error(tag: tag, code: .busy, message: "the engine is busy; try again"), action: .none))
    }

    func route(_ line: [UInt8], session: Session, trace: ServiceContext? = nil, on eventLoop: any EventLoop) -> RouteStep {
        let request: Request
        switch RequestParser.parse(line) {
        case .empty: return .none
        case .failure(let failure): return .now(RoutedReply(reply: failure.reply, action: .none))
        case .request(let parsed): request = parsed
        }
        let tag = request.tag
        func refuse(_ code: ErrorCode, _ message: String) -> RouteStep {
            .now(RoutedReply(reply: .error(tag: tag, code: code, message: message), action: .none))
        }
        // The signed-in terminal as it stands now (RULES.md §7): disabled or rotated since the
        // sign-in, the session ends with this reply, whatever the verb (a new SIGNIN too);
        // otherwise its context as it is now (an institution import may have changed its level).
        var current: TerminalContext?
        if let signedIn = session.terminal {
            switch store.reference.standing(of: signedIn.terminal, signedInWith: session.standing) {
            case .standing(let context): current = context
            case .disabled:
                return .now(RoutedReply(reply: .error(tag: tag, code: .terminalDisabled, message: "terminal is disabled"), action: .close))
            case .rotated:
                return .now(RoutedReply(reply: .error(tag: tag, code: .authFailed, message: "the terminal's key has changed; sign in again"),
                                        action: .close))
            }
        }
        // Session verbs and the sign-in gate.
        switch request.verb {
        case .ping:
            if let failure = request.validate() { return .now(RoutedReply(reply: failure.reply, action: .none)) }
            return .now(RoutedReply(reply: .ok(tag: tag), action: .none))
        case .signIn:
            if let failure = request.validate() { return .now(RoutedReply(reply: failure.reply, action: .none)) }
            return signIn(request, session: session, on: eventLoop)
        default:
            break
        }
        guard let terminal = current else { return refuse(.notSignedIn, "sign in first") }
        guard request.verb.isAllowed(for: terminal.kind) else {
            return refuse(.forbidden, "\(request.verb.rawValue) is not allowed for a \(terminal.kind.rawValue) terminal")
        }
        if let failure = request.validate(kind: terminal.kind) {
            return .now(RoutedReply(reply: failure.reply, action: .none))
        }
        if request.verb == .signOut {
            return .now(RoutedReply(reply: .ok(tag: tag), action: .close))
        }
        if request.verb == .settle { return settle(request, by: terminal, trace: trace, on: eventLoop) }
        if request.verb == .itemInfo { return itemInfo(request, by: terminal) }
        switch operation(for: request, by: terminal) {
        case .failure(let error):
            return .now(RoutedReply(reply: error.reply(tag: tag), action: .none))
        case .success(let work):
            guard let future = onDatabaseThread(eventLoop, work) else { return Self.busy(tag) }
            let metrics = self.metrics
            return .later(future.map { answer in
                metrics.observe(answer, kind: terminal.kind)
                return RoutedReply(reply: Reply(tag: tag, answer), action: .none)
            }.recover { _ in
                RoutedReply(reply: .error(tag: tag, code: .unavailable, message: "the engine is shutting down"), action: .none)
            })
        }
    }

    typealias Work = @Sendable () -> OperationAnswer

    /// Decodes the request's values and returns the store operation to run, or the first bad value.
    func operation(for request: Request, by terminal: TerminalContext) -> Result<Work, ValueError> {
        let store = self.store
        switch request.verb {
        case .enroll:
            return Commands.idNo(request).flatMap { idNo in
                Commands.name(request).flatMap { name in
                    Commands.required(request, "insurance").flatMap { ValueSyntax.oneOf($0, key: "insurance", as: InsuranceType.self) }.flatMap { insurance in
                        Commands.area(request).flatMap { area in
                            Commands.optionalFlag(request, "assist").map { assist in
                                { store.people.enroll(idNo: idNo, name: name, insurance: insurance, area: area, assist: assist ?? false)
                                    .answer { .enrolled(idNo: $0) } }
                            }
                        }
                    }
                }
            }
        case .credit:
            return Commands.trace(request).flatMap { trace in
                Commands.idNo(request).flatMap { idNo in
                    Commands.required(request, "amount").flatMap { ValueSyntax.positiveAmount($0) }.flatMap { amount in
                        guard amount <= People.maxCredit else {
                            return .failure(ValueError(message: "amount must be at most \(People.maxCredit) fen"))
                        }
                        let traced = Self.traced(request, trace: trace)
                        return .success({ store.people.credit(idNo: idNo, amount: amount, traced: traced, by: terminal).answer(Response.credited) })
                    }
                }
            }
        case .issue:
            return Commands.idNo(request).flatMap { idNo in
                Commands.agent(request).map { agent in { store.cards.issue(idNo: idNo, agent: agent, by: terminal).answer(Response.cardIssued) } }
            }
        case .pinChange:
            return Commands.cardNumber(request).flatMap { card in
                Commands.required(request, "pin").flatMap { ValueSyntax.pin($0) }.flatMap { old in
                    Commands.required(request, "new").flatMap { ValueSyntax.pin($0, key: "new") }.map { new in
                        { store.cards.changePIN(cardNo: card, oldPIN: old, newPIN: new, by: terminal).answer(Response.pinChanged) }
                    }
                }
            }
        case .cardInfo:
            return Commands.credential(request).map { credential in { store.cards.cardInfo(credential, by: terminal).answer(Response.cardDetails) } }
        case .price:
            if request.value("admission") != nil {
                return Commands.wireID(request, "admission", .admission).map { admission in
                    { store.stays.priceAdmission(admission, by: terminal).answer(Response.priced) }
                }
            }
            return Commands.claim(request, kind: terminal.kind).map { claim in { store.settlements.price(claim, by: terminal).answer(Response.priced) } }
        case .settle:
            preconditionFailure("SETTLE goes to the settlement queue, not the thread pool")
        case .query:
            return Commands.trace(request).map { trace in { store.settlements.query(trace: trace, by: terminal).answer(Response.traceStatus) } }
        case .unlock: return cardService(.unlock, request, by: terminal)
        case .pinReset: return cardService(.pinReset, request, by: terminal)
        case .reportLost: return cardService(.reportLost, request, by: terminal)
        case .unlost: return cardService(.releaseLoss, request, by: terminal)
        case .replace: return cardService(.replace, request, by: terminal, reasons: ["lost", "damaged", "info"])
        case .cancelCard: return cardService(.cancel, request, by: terminal, reasons: ["death", "emigration"])
        case .personUpdate:
            return Commands.idNo(request).flatMap { idNo in
                Commands.optionalName(request).flatMap { name in
                    Commands.optionalIDNo(request, key: "new_id_no").flatMap { newIDNo in
                        Commands.optionalFlag(request, "assist").flatMap { assist in
                            Commands.agent(request).flatMap { agent in
                                guard name != nil || newIDNo != nil || assist != nil else {
                                    return .failure(ValueError(message: "give name, new_id_no or assist"))
                                }
                                // The agency sets the assistance flag only (RULES.md §12).
                                if terminal.kind == .agency, name != nil || newIDNo != nil {
                                    return .failure(ValueError(code: .forbidden, message: "the agency may change assist only"))
                                }
                                return .success({ store.people.updatePerson(idNo: idNo, name: name, newIDNo: newIDNo, assist: assist, agent: agent,
                                                                            by: terminal).answer { .personUpdated(idNo: $0) } })
                            }
                        }
                    }
                }
            }
        case .familyBind:
            return Commands.family(request).flatMap { payer, member in
                Commands.required(request, "relation").flatMap { ValueSyntax.oneOf($0, key: "relation", as: FamilyRelation.self) }.flatMap { relation in
                    Commands.agent(request).map { agent in
                        { store.families.bind(payer: payer, member: member, relation: relation, agent: agent, by: terminal).answer(Response.family) }
                    }
                }
            }
        case .familyUnbind:
            return Commands.family(request).flatMap { payer, member in
                Commands.agent(request).map { agent in
                    { store.families.unbind(payer: payer, member: member, agent: agent, by: terminal).answer(Response.family) }
                }
            }
        case .qrCode:
            return Commands.cardNumber(request).map { card in { store.cards.issueQR(cardNo: card, by: terminal).answer(Response.qrIssued) } }
        case .cancel:
            return Commands.trace(request).flatMap { trace in
                Commands.wireID(request, "settlement", .settlement).map { settlement in
                    let traced = Self.traced(request, trace: trace)
                    return { store.settlements.cancel(settlement: settlement, traced: traced, by: terminal).answer(Response.cancelled) }
                }
            }
        case .reverse:
            return Commands.trace(request).map { trace in { store.settlements.reverse(trace: trace, by: terminal).answer(Response.reversal) } }
        case .admit:
            return Commands.trace(request).flatMap { trace in
                Commands.credential(request).flatMap { credential in
                    Commands.ward(request).map { ward in
                        let traced = Self.traced(request, trace: trace)
                        return { store.stays.admit(credential, ward: ward, traced: traced, by: terminal).answer(Response.admitted) }
                    }
                }
            }
        case .fees:
            return Commands.trace(request).flatMap { trace in
                Commands.wireID(request, "admission", .admission).flatMap { admission in
                    Commands.feeLines(request).map { lines in
                        let traced = Self.traced(request, trace: trace)
                        return { store.stays.addFees(admission: admission, lines: lines, traced: traced, by: terminal).answer(Response.feesAdded) }
                    }
                }
            }
        case .feesUndo:
            return Commands.trace(request).flatMap { trace in
                Commands.wireID(request, "admission", .admission).flatMap { admission in
                    Commands.required(request, "of").flatMap { ValueSyntax.trace($0, key: "of") }.map { upload in
                        let traced = Self.traced(request, trace: trace)
                        return { store.stays.withdrawFees(admission: admission, of: upload, traced: traced, by: terminal).answer(Response.feesWithdrawn) }
                    }
                }
            }
        case .admitCancel:
            return Commands.trace(request).flatMap { trace in
                Commands.wireID(request, "admission", .admission).map { admission in
                    let traced = Self.traced(request, trace: trace)
                    return { store.stays.cancelAdmission(admission, traced: traced, by: terminal).answer(Response.admissionCancelled) }
                }
            }
        case .discharge:
            return Commands.trace(request).flatMap { trace in
                Commands.wireID(request, "admission", .admission).flatMap { admission in
                    Commands.credential(request).flatMap { credential in
                        Commands.useAccount(request).map { use in
                            let traced = Self.traced(request, trace: trace)
                            return { store.stays.discharge(admission: admission, credential: credential, useAccount: use,
                                                           traced: traced, by: terminal).answer(Response.settled) }
                        }
                    }
                }
            }
        case .recon:
            return Commands.recon(request).map { date, stated, scope in
                { store.reconciliation.reconcile(date: date, stated: stated, scope: scope, by: terminal).answer(Response.reconciled) }
            }
        case .itemInfo:
            preconditionFailure("ITEMINFO is answered from memory, not on the thread pool")
        case .ping, .signIn, .signOut:
            preconditionFailure("session verbs are routed before operations")
        }
    }

    /// The card services that name a card and its holder: `card id_no [agent_id]`, and `reason`
    /// for the operations that take one.
    private func cardService(_ operation: CardOperation, _ request: Request, by terminal: TerminalContext,
                             reasons: [String]? = nil) -> Result<Work, ValueError> {
        let store = self.store
        return Commands.cardNumber(request).flatMap { card in
            Commands.idNo(request).flatMap { idNo in
                Commands.agent(request).flatMap { agent in
                    Commands.reason(request, allowed: reasons).map { reason in
                        let service = CardServiceRequest(cardNo: card, idNo: idNo, agent: agent, reason: reason)
                        return { store.cards.cardService(operation, service, by: terminal).answer(Response.cardService) }
                    }
                }
            }
        }
    }

    static func traced(_ request: Request, trace: String) -> TracedRequest {
        TracedRequest(trace: trace, verb: request.verb.rawValue, fingerprint: RequestFingerprint.of(request))
    }

    /// SETTLE skips the thread pool: the store's settlement workers batch it with others and
    /// answer on their own threads; the reply hops back to the connection's event loop. The
    /// request's span context (when traced) goes with it: the round's span links to it.
    private func settle(_ request: Request, by terminal: TerminalContext, trace: ServiceContext?, on eventLoop: any EventLoop) -> RouteStep {
        let tag = request.tag
        let decoded = Commands.trace(request).flatMap { trace in
            Commands.claim(request, kind: terminal.kind).map { claim in (claim, Self.traced(request, trace: trace)) }
        }
        switch decoded {
        case .failure(let error):
            return .now(RoutedReply(reply: error.reply(tag: tag), action: .none))
        case .success(let (claim, traced)):
            let promise = eventLoop.makePromise(of: OperationAnswer.self)
            store.settlements.settle(claim, traced: traced, by: terminal, replies: EventLoopReplies(loop: eventLoop), trace: trace) {
                promise.succeed($0.answer(Response.settled))
            }
            let metrics = self.metrics
            return .later(promise.futureResult.map { answer in
                metrics.observe(answer, kind: terminal.kind)
                return RoutedReply(reply: Reply(tag: tag, answer), action: .none)
            })
        }
    }

    /// ITEMINFO reads the catalog versions held in memory: answered at once, on the event loop.
    private func itemInfo(_ request: Request, by terminal: TerminalContext) -> RouteStep {
        let tag = request.tag
        let decoded = Commands.required(request, "code").flatMap { ValueSyntax.itemCode($0) }.flatMap { code in
            (request.value("date").map { ValueSyntax.date($0) } ?? .success(store.businessDate())).map { (code, $0) }
        }
        switch decoded {
        case .failure(let error):
            return .now(RoutedReply(reply: error.reply(tag: tag), action: .none))
        case .success(let (code, date)):
            let answer = store.reference.item(code, on: date).answer(Response.itemInfo)
            metrics.observe(answer, kind: terminal.kind)
            return .now(RoutedReply(reply: Reply(tag: tag, answer), action: .none))
        }
    }

    // MARK: - SIGNIN

    /// Checks the mac against the terminal's key held in memory (`ReferenceBook`): no database
    /// query, so a flood of sign-ins does not take the threads real requests need. From an
    /// address with too many failures of late (`SignInFailures`) the answer is `AUTH_FAILED`
    /// and the connection finishes, whatever the mac.
    private func signIn(_ request: Request, session: Session, on eventLoop: any EventLoop) -> RouteStep {
        let tag = request.tag
        let terminal = request.value("terminal") ?? ""
        let mac = request.value("mac") ?? ""
        if let client = session.client, let left = signInFailures.blocked(client, now: .now()) {
            let seconds = (left.nanoseconds + 999_999_999) / 1_000_000_000
            return .now(RoutedReply(reply: .error(tag: tag, code: .authFailed,
                                                  message: "too many failed sign-ins from this address; try again in \(seconds) s"),
                                    action: .close))
        }
        // Keys held while changes cannot be followed may have been rotated or disabled meanwhile.
        guard store.reference.isCurrent else {
            return .now(RoutedReply(reply: .error(tag: tag, code: .unavailable, message: "terminal keys cannot be confirmed now; try again"),
                                    action: .none))
        }
        guard let credentials = store.reference.credentials(terminal),
              case .success(let given) = ValueSyntax.lowerHex(mac, key: "mac", byteCount: 32) else { return failed(tag, session) }
        guard MAC.isValidSignIn(given, key: credentials.key, challenge: session.challenge, terminal: terminal) else { return failed(tag, session) }
        guard credentials.enabled else {
            return .now(RoutedReply(reply: .error(tag: tag, code: .terminalDisabled, message: "terminal is disabled"), action: .none))
        }
        let context = credentials.context
        return .now(RoutedReply(reply: .ok(tag: tag, fields: [("institution", context.institution),
                                                               ("kind", context.kind.rawValue),
                                                               ("date", store.businessDate().yyyymmdd)]),
                                action: .signedIn(context, credentials.standing)))
    }

    /// `AUTH_FAILED`, counted for the connection (its 3rd failure ends it) and for its address.
    private func failed(_ tag: String, _ session: Session) -> RouteStep {
        if let client = session.client, signInFailures.recordFailure(client, now: .now()) {
            metrics.signInBlocks.increment()
            let limits = signInFailures.limits
            logger.warning("too many failed sign-ins from one address: its sign-ins are refused for a while", metadata: [
                "address": "\(client)", "failures": "\(limits.maxFailures)",
                "window_s": "\(limits.window.nanoseconds / 1_000_000_000)", "cooldown_s": "\(limits.cooldown.nanoseconds / 1_000_000_000)",
            ])
        }
        return .now(RoutedReply(reply: .error(tag: tag, code: .authFailed, message: "sign-in failed"), action: .authFailed))
    }
}

/// The requests waiting for or running on a database thread, bounded by `max-queued`.
final class QueuedWork: Sendable {
    private let count = Mutex(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts one more, or refuses it at the limit.
    func admit() -> Bool {
        count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func done() { count.withLock { $0 -= 1 } }
}

/// Settlement answers handed to a connection's event loop, one hop per batch and loop.
struct EventLoopReplies: SettleReplyQueue {
    let loop: any EventLoop
    var key: ObjectIdentifier { ObjectIdentifier(loop) }
    func deliver(_ work: @escaping @Sendable () -> Void) { loop.execute(work) }
}
