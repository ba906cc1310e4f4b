import Foundation
import MSLP
import MSLPChannel
import MedsettleServer
import NIOCore
import NIOPosix
import Prometheus
import Testing

/// A client that writes and does not read cannot make the server buffer without bound; nothing
/// it was promised is lost when it reads again; and the server's own closes drain its input.
/// A million PINGs take about a minute in a debug build on a busy machine: a longer limit.
@Suite(.timeLimit(.minutes(5)))
struct BackpressureTests {
    /// 1 000 000 PINGs (14 MB) without reading: far more than the kernel's buffers on both sides
    /// can hold as replies (the server's send buffer grows to at most 4 MiB, the client's receive
    /// buffer is pinned small), so a server that reads on regardless would answer them all into
    /// its own memory. This one stops reading: its answered count stops short of the total and
    /// the client's write stays unfinished. Then the client reads, and every reply is there, in
    /// order.
    @Test func aClientThatNeverReadsIsThrottledAndLosesNoReply() async throws {
        let total = 1_000_000
        let registry = PrometheusCollectorRegistry()
        let engine = try await TestEngine.start(metrics: ServerMetrics(factory: PrometheusMetricsFactory(registry: registry)))
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let replies = loop.makePromise(of: Int.self)
        let client = try await ClientBootstrap(group: loop)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 16 * 1024)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReplyChecker(expected: total, promise: replies))
                }
            }
            .connect(host: "127.0.0.1", port: engine.port).get()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(total * 14)
        for i in 0..<total {
            bytes.append(contentsOf: "PING p".utf8)
            Self.appendPadded(i, to: &bytes)
            bytes.append(UInt8(ascii: "\n"))
        }
        let written = loop.makePromise(of: Void.self)
        let allTaken = Flag()
        written.futureResult.whenComplete { _ in allTaken.set() }
        client.writeAndFlush(ByteBuffer(bytes: bytes), promise: written)

        // Wait until the server stops answering (its count steady over 40 looks, 2 s): it has
        // stopped reading, since the client reads nothing.
        var answered = 0
        var steady = 0
        while steady < 40 {
            try await Task.sleep(nanoseconds: 50_000_000)
            let now = Self.answeredPings(registry)
            steady = now == answered ? steady + 1 : 0
            answered = now
        }
        #expect(answered < total, "the server read and answered everything while the client read nothing")
        #expect(answered > 0)
        #expect(!allTaken.isSet, "the server took all of the client's bytes")

        // The client reads: the rest flows, and every reply arrives, in order.
        try await client.setOption(.autoRead, value: true).get()
        client.read()
        let received = try await replies.futureResult.get()
        #expect(received == total)
        try await written.futureResult.get()
        #expect(Self.answeredPings(registry) == total)
        try await client.close()
        await engine.stop()
    }

    /// SIGNOUT with more of the client's bytes behind it, unread: the server drains them instead
    /// of resetting the connection, so the client reads the reply and then a clean EOF.
    @Test func signOutWithUnreadInputStillDeliversItsReply() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            var bytes = Array("SIGNOUT t1\n".utf8)
            for i in 0..<50_000 { bytes += Array("PING q\(i)\n".utf8) }
            try await c.send(raw: bytes)
            #expect(try await c.readReply().tag == "t1")
            #expect(try await c.readLine() == nil)
        }
        await engine.stop()
    }

    /// `i` as seven decimal digits.
    static func appendPadded(_ i: Int, to bytes: inout [UInt8]) {
        var divisor = 1_000_000
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(i / divisor % 10))
            divisor /= 10
        }
    }

    /// `mslp_requests_total{verb="PING",code="OK"}` from the registry.
    static func answeredPings(_ registry: PrometheusCollectorRegistry) -> Int {
        let prefix = #"mslp_requests_total{verb="PING",code="OK"} "#
        for line in registry.emitToString().split(separator: "\n") where line.hasPrefix(prefix) {
            return Int(Double(line.dropFirst(prefix.count)) ?? 0)
        }
        return 0
    }
}

/// Reads the server's lines: the greeting, then `p0000000 OK`, `p0000001 OK`, … in order.
/// Succeeds with the count once `expected` replies are in; fails on anything else.
private final class ReplyChecker: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct Mismatch: Error, CustomStringConvertible {
        let description: String
    }

    let promise: EventLoopPromise<Int>
    private let expected: Int
    private var partial: [UInt8] = []
    private var want: [UInt8] = []
    private var greeted = false
    private var count = 0
    private var done = false

    init(expected: Int, promise: EventLoopPromise<Int>) {
        self.expected = expected
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !done else { return }
        for byte in buffer.readableBytesView {
            if byte != UInt8(ascii: "\n") {
                partial.append(byte)
                continue
            }
            defer { partial.removeAll(keepingCapacity: true) }
            guard greeted else {
                greeted = true
                continue
            }
            want.removeAll(keepingCapacity: true)
            want.append(UInt8(ascii: "p"))
            BackpressureTests.appendPadded(count, to: &want)
            want.append(contentsOf: " OK".utf8)
            guard partial == want else {
                done = true
                promise.fail(Mismatch(description: "reply \(count): \(String(decoding: partial, as: UTF8.self))"))
                return
            }
            count += 1
            if count == expected {
                done = true
                promise.succeed(count)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        promise.fail(Mismatch(description: "closed after \(count) replies"))
    }
}

/// Set once, from any thread.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
