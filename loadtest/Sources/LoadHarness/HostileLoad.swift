import Foundation
import LoadData
import NIOCore
import NIOPosix
import Synchronization

/// The hostile mix: `connections` connections at a time that mean the engine harm, none of which
/// ever signs in. Connection k behaves as `HostileKind.allCases[k % 4]` and comes from
/// `sourceAddresses[k % count]` (several loopback addresses, so that the engine's limits per
/// client address apply as they would to several attackers rather than hiding the test).
///
/// Each connection misbehaves until the engine closes it; its slot then waits `hostilePause` and
/// opens the next, until `seconds` are up. After that no new connection is opened, and every one
/// still open must be closed by the engine within `hostileDrainSeconds`; whatever is still open
/// then is closed by the harness and counted as `notClosed` (the run fails).
public enum HostileLoad {
    /// Runs the hostile mix to the end of its drain; the tally says how the connections ended.
    public static func run(_ configuration: LoadConfiguration, notice: @escaping @Sendable (String) -> Void) async throws -> HostileTally {
        precondition(configuration.mix == .hostile, "the hostile mix")
        for kind in configuration.hostileKinds where HostileKind(rawValue: kind) == nil {
            throw LoadError("not a hostile kind: \(kind) (silent, trickle, signin_flood, garbage)")
        }
        for source in configuration.sourceAddresses {
            guard (try? SocketAddress(ipAddress: source, port: 0)) != nil else { throw LoadError("not an IP address: \(source)") }
        }
        let tally = HostileTally()
        await run(configuration, tally, notice: notice)
        return tally
    }

    private static func run(_ configuration: LoadConfiguration, _ tally: HostileTally, notice: @escaping @Sendable (String) -> Void) async {
        let start = ContinuousClock.now
        let deadline = start + .seconds(configuration.seconds)
        let giveUpAt = NIODeadline.now() + .seconds(Int64(configuration.seconds + configuration.hostileDrainSeconds))
        let sources = configuration.sourceAddresses.isEmpty ? [configuration.host] : configuration.sourceAddresses
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // A progress line every 5 s.
                var second = 0
                while ContinuousClock.now < deadline + .seconds(configuration.hostileDrainSeconds) {
                    second += 5
                    do { try await Task.sleep(until: start + .seconds(second), clock: .continuous) } catch { return }
                    notice("t=\(second)s hostile " + tally.progress)
                    if ContinuousClock.now >= deadline && tally.openNow == 0 { return }
                }
            }
            let kinds = configuration.hostileKinds.isEmpty ? HostileKind.allCases.map(\.rawValue) : configuration.hostileKinds
            for slot in 0..<configuration.connections {
                let kind = HostileKind(rawValue: kinds[slot % kinds.count])!
                let source = sources[slot % sources.count]
                group.addTask {
                    // Spread the first connections over the first second rather than at once.
                    try? await Task.sleep(until: start + .microseconds(1_000_000 * slot / configuration.connections), clock: .continuous)
                    // Every slot opens at least one connection, even when a busy machine ran this
                    // task only after the deadline (seen in the test suite: a run that opened nothing).
                    var serial = 0
                    repeat {
                        serial += 1
                        await connection(kind, from: source, serial: serial, slot: slot, configuration, tally, giveUpAt: giveUpAt)
                        try? await Task.sleep(for: configuration.hostilePause)
                    } while ContinuousClock.now < deadline
                }
            }
            await group.waitForAll()
        }
    }

    /// One hostile connection, from connect to close.
    private static func connection(_ kind: HostileKind, from source: String, serial: Int, slot: Int, _ configuration: LoadConfiguration,
                                   _ tally: HostileTally, giveUpAt: NIODeadline) async {
        let handler = HostileHandler(kind: kind, behaviour: HostileBehaviour(kind: kind, slot: slot, serial: serial,
                                                                             maxLine: configuration.hostileMaxLine),
                                     silentFor: .seconds(Int64(configuration.hostileSilentSeconds)), tally: tally)
        let channel: any Channel
        do {
            let local = try SocketAddress(ipAddress: source, port: 0)
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(to: local)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                // Small kernel buffers on this side too: on one machine the harness's socket memory
                // and the engine's are one pool (tcp_mem), and an attacker's would be on its own
                // machine; left to autotuning, a silent connection's send buffer grows to megabytes.
                .channelOption(.socketOption(.so_sndbuf), value: 64 * 1024)
                .channelOption(.socketOption(.so_rcvbuf), value: 64 * 1024)
                // The silent kind never reads: only the kernel's buffers take the engine's replies.
                .channelOption(.autoRead, value: kind != .silent)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
                }
                .connect(host: configuration.host, port: configuration.port).get()
        } catch {
            tally.connectFailed(error)
            return
        }
        // Past the drain the harness stops waiting for the engine and closes what is left itself.
        let giveUp = channel.eventLoop.scheduleTask(deadline: giveUpAt) { handler.giveUp(channel) }
        try? await channel.closeFuture.get()
        giveUp.cancel()
    }
}

/// How a hostile connection misbehaves.
enum HostileKind: String, CaseIterable, Sendable {
    /// Pipelines `PING`s as fast as the socket takes them and never reads a byte.
    case silent
    /// Sends a `SIGNIN` line one byte a second.
    case trickle
    /// Signs in with wrong macs, one after the other, as fast as the answers come.
    case signInFlood = "signin_flood"
    /// Sends a pipeline of 64 malformed lines every second (and reads the answers).
    case garbage
}

/// The bytes a hostile connection sends.
struct HostileBehaviour {
    let kind: HostileKind
    let slot: Int
    let serial: Int
    /// The engine's longest line; every eighth garbage connection sends one longer.
    let maxLine: Int

    /// A terminal that exists (the load tests' own), to guess keys of.
    var terminal: String { LoadTestData.terminal(1 + slot % 32) }

    /// SIGNIN with a random (so wrong) mac.
    func wrongSignIn(_ number: Int) -> String {
        let mac = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return "SIGNIN h\(number) terminal=\(terminal) mac=\(mac)\r\n"
    }

    /// What the silent kind sends in one write: 1 024 PINGs (which an unsigned connection may send,
    /// and which the engine answers without the database).
    static let pings: [UInt8] = Array(String(repeating: "PING p\r\n", count: 1_024).utf8)

    /// The garbage kind's pipeline: 64 lines each refused in its own way.
    func garbage() -> [UInt8] {
        var bytes: [UInt8] = []
        for index in 0..<64 {
            bytes += Self.malformed[index % Self.malformed.count]
            bytes += [0x0D, 0x0A]
        }
        return bytes
    }

    /// Every eighth garbage connection also sends a line over the engine's limit, which ends it.
    var sendsOverlongLine: Bool { kind == .garbage && (slot / 4 + serial) % 8 == 0 }

    var overlongLine: [UInt8] { Array(repeating: UInt8(ascii: "A"), count: maxLine + 100) + [0x0A] }

    static let malformed: [[UInt8]] = [
        Array("SETTLE".utf8),                                                     // no tag
        Array("FROB t1 x=1".utf8),                                                // unknown verb
        Array("SETTLE t2 card=L00000001 pin=246810 items=A001*1@100 trace=X".utf8), // not signed in
        Array("PING t3 a=1 a=2".utf8),                                            // a key twice
        Array("PING t4 KEY=1".utf8),                                              // a key in capitals
        Array("PING \(String(repeating: "t", count: 40))".utf8),                   // a tag too long
        Array("SIGNIN t5".utf8),                                                  // no terminal, no mac
        Array("SIGNIN t6 terminal=LOAD-P0001 mac=zz".utf8),                       // a mac that is no hex
        [0xFF, 0xFE, 0x20, 0xC0, 0x80, 0x41],                                     // not UTF-8
        Array("PING t7 ".utf8) + [0x00, 0x01, 0x7F],                             // control bytes
        Array("PING t8 a=1\rb=2".utf8),                                           // a bare CR inside
        Array("SETTLE t9 items=A001*1@;;;;#123".utf8),                            // items syntax
        Array("  PING t10".utf8),                                                 // leading spaces
        Array("ping t11 x=%zz".utf8),                                             // bad percent-coding
        Array(String(repeating: "k=v ", count: 200).utf8),                       // many fields, no verb
    ]
}

/// One hostile connection's handler: misbehaves as its kind says and notes how the connection
/// ended. Whatever ends it before `giveUp` is the engine's doing (a close, a reset, a refused write).
final class HostileHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let kind: HostileKind
    private let behaviour: HostileBehaviour
    private let silentFor: TimeAmount
    private let tally: HostileTally
    private var opened = NIODeadline.now()
    /// The next tick of the trickle and garbage kinds, once a second.
    private var timer: Scheduled<Void>?
    private var silence: Scheduled<Void>?
    /// Bytes of the first line received, until its LF (to tell a greeting from `* ERR BUSY`).
    private var firstLine: [UInt8] = []
    private var firstLineDone = false
    private var linesReceived = 0
    private var trickleBytes: [UInt8] = []
    private var trickled = 0
    private var signIns = 0
    private var closedByHarness = false

    init(kind: HostileKind, behaviour: HostileBehaviour, silentFor: TimeAmount, tally: HostileTally) {
        self.kind = kind
        self.behaviour = behaviour
        self.silentFor = silentFor
        self.tally = tally
    }

    /// Called on the channel's event loop at the end of the drain.
    func giveUp(_ channel: any Channel) {
        closedByHarness = true
        channel.close(promise: nil)
    }

    func channelActive(context: ChannelHandlerContext) {
        opened = .now()
        tally.opened(kind)
        let loop = context.eventLoop.assumeIsolated()
        switch kind {
        case .silent:
            writePings(context)
            // Never reading, the harness would not see an orderly close behind the replies the
            // kernel holds for it; after a while it reads, to find the engine's close at the end.
            silence = loop.scheduleTask(in: silentFor) { [self] in
                context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
                context.read()
            }
        case .trickle:
            trickleBytes = Array(behaviour.wrongSignIn(1).utf8)
            everySecond(context) { [self] in
                write(context, [trickleBytes[trickled % trickleBytes.count]])
                trickled += 1
            }
        case .signInFlood:
            break // the first SIGNIN answers the greeting
        case .garbage:
            everySecond(context) { [self] in
                write(context, behaviour.garbage())
                if behaviour.sendsOverlongLine { write(context, behaviour.overlongLine) }
            }
        }
        context.fireChannelActive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if kind == .silent { writePings(context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let newLines = buffer.readableBytesView.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        if !firstLineDone {
            for byte in buffer.readableBytesView {
                if byte == 0x0A { firstLineDone = true; break }
                if firstLine.count < 256 { firstLine.append(byte) }
            }
            if firstLineDone, firstLine.starts(with: Array("* ERR BUSY".utf8)) { tally.refusedOnArrival(kind) }
        }
        linesReceived += newLines
        // The flood answers every line (the greeting, then each AUTH_FAILED) with another guess.
        if kind == .signInFlood {
            for _ in 0..<newLines {
                signIns += 1
                write(context, Array(behaviour.wrongSignIn(signIns).utf8))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        silence?.cancel()
        let lifetime = NIODeadline.now() - opened
        if closedByHarness {
            tally.notClosed(kind, after: lifetime)
        } else {
            tally.closedByEngine(kind, after: lifetime)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or a refused write: the engine has closed its end.
        context.close(promise: nil)
    }

    /// Runs `tick` now and then once a second until the connection closes.
    private func everySecond(_ context: ChannelHandlerContext, _ tick: @escaping () -> Void) {
        guard context.channel.isActive else { return }
        tick()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in everySecond(context, tick) }
    }

    private func writePings(_ context: ChannelHandlerContext) {
        while context.channel.isWritable && context.channel.isActive {
            write(context, HostileBehaviour.pings)
        }
    }

    private func write(_ context: ChannelHandlerContext, _ bytes: [UInt8]) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }
}

/// What the hostile connections met, by kind.
public final class HostileTally: Sendable {
    public struct Counts: Codable, Sendable {
        public var opened = 0
        public var closedByEngine = 0
        /// Greeted with `* ERR BUSY` (a connection limit) instead of the greeting.
        public var refusedOnArrival = 0
        /// Still open at the end of the drain: closed by the harness.
        public var notClosed = 0
        /// The longest a connection lived, in milliseconds.
        public var longestLifeMillis: Int64 = 0
    }

    private struct State {
        var byKind: [String: Counts] = [:]
        var connectFailures = 0
        var firstConnectError: String?
    }

    private let state = Mutex(State())

    public init() {}

    func opened(_ kind: HostileKind) { update(kind) { $0.opened += 1 } }
    func refusedOnArrival(_ kind: HostileKind) { update(kind) { $0.refusedOnArrival += 1 } }

    func closedByEngine(_ kind: HostileKind, after lifetime: TimeAmount) {
        update(kind) {
            $0.closedByEngine += 1
            $0.longestLifeMillis = max($0.longestLifeMillis, lifetime.nanoseconds / 1_000_000)
        }
    }

    func notClosed(_ kind: HostileKind, after lifetime: TimeAmount) {
        update(kind) {
            $0.notClosed += 1
            $0.longestLifeMillis = max($0.longestLifeMillis, lifetime.nanoseconds / 1_000_000)
        }
    }

    func connectFailed(_ error: any Error) {
        state.withLock {
            $0.connectFailures += 1
            if $0.firstConnectError == nil { $0.firstConnectError = "\(error)" }
        }
    }

    private func update(_ kind: HostileKind, _ change: (inout Counts) -> Void) {
        state.withLock { change(&$0.byKind[kind.rawValue, default: Counts()]) }
    }

    public var byKind: [String: Counts] { state.withLock { $0.byKind } }
    public var total: Counts {
        byKind.values.reduce(into: Counts()) { sum, counts in
            sum.opened += counts.opened
            sum.closedByEngine += counts.closedByEngine
            sum.refusedOnArrival += counts.refusedOnArrival
            sum.notClosed += counts.notClosed
            sum.longestLifeMillis = max(sum.longestLifeMillis, counts.longestLifeMillis)
        }
    }
    public var connectFailures: Int { state.withLock { $0.connectFailures } }
    public var firstConnectError: String? { state.withLock { $0.firstConnectError } }
    var openNow: Int { let t = total; return t.opened - t.closedByEngine - t.notClosed }

    var progress: String {
        let t = total
        return "open \(openNow) opened \(t.opened) closed_by_engine \(t.closedByEngine) refused_on_arrival \(t.refusedOnArrival) "
            + "connect_failed \(connectFailures)"
    }

    /// Every hostile connection the harness opened was closed by the engine.
    public var passed: Bool { let t = total; return t.notClosed == 0 && t.opened == t.closedByEngine && t.opened > 0 }

    public var summary: String {
        let t = total
        var lines = ["hostile connections: opened \(t.opened), closed by the engine \(t.closedByEngine), still open at the end \(t.notClosed), "
                     + "refused on arrival \(t.refusedOnArrival), failed to connect \(connectFailures), longest life \(t.longestLifeMillis) ms"]
        for (kind, counts) in byKind.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(kind): opened \(counts.opened) closed_by_engine \(counts.closedByEngine) not_closed \(counts.notClosed) "
                         + "refused_on_arrival \(counts.refusedOnArrival) longest_life_ms \(counts.longestLifeMillis)")
        }
        if let error = firstConnectError { lines.append("  first connect failure: \(error)") }
        lines.append("hostile=\(t.closedByEngine) not_closed=\(t.notClosed) \(passed ? "all closed by the engine" : "FAILED")")
        return lines.joined(separator: "\n")
    }

    public func json() throws -> Data {
        struct Report: Codable {
            let total: Counts
            let byKind: [String: Counts]
            let connectFailures: Int
            let passed: Bool
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(Report(total: total, byKind: byKind, connectFailures: connectFailures, passed: passed))
    }
}
