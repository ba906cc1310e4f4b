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
// A bound against hangs, not a speed target: a machine shared with builds takes minutes here.
@Suite(.timeLimit(.minutes(5)))
struct BackpressureTests {
    /// 300 000 cheap lines without reading, after signing in as a pharmacy — ENROLL, each answered
    /// at once with a 75-byte `FORBIDDEN` (22 MB of replies): far more than the kernel's buffers can
    /// hold as replies (the server's socket buffers are 64 KiB each way, the client's receive buffer
    /// is pinned small), so a server that reads on regardless would answer them all into its own
    /// memory. (Before sign-in a connection may send only 16 lines.) This one stops reading: its answered count stops short of the total. (The kernel
    /// may hold all of the client's lines unread, so the client's write finishing proves nothing.)
    /// Then the client reads, and every reply is there, once, in order. Long replies to short
    /// lines keep the line count, and so the load on a machine running other tests, low.
    @Test func aClientThatNeverReadsIsThrottledAndLosesNoReply() async throws {
        let total = 300_000
        let registry = PrometheusCollectorRegistry()
        let engine = try await TestEngine.start(metrics: ServerMetrics(factory: PrometheusMetricsFactory(registry: registry)))
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let replies = loop.makePromise(of: ByteBuffer.self)
        let greeting = loop.makePromise(of: String.self)
        let client = try await ClientBootstrap(group: loop)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 16 * 1024)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReplyCollector(lines: 2 + total, promise: replies, firstLine: greeting))
                }
            }
            .connect(host: "127.0.0.1", port: engine.port).get()
        // The greeting's challenge, for the SIGNIN in front of the lines.
        client.read()
        let hello = try await greeting.futureResult.get()
        let challenge = try #require(Greeting.parse(Array(hello.utf8))?.challenge, "\(hello)")
        let mac = Greeting.hex(MAC.hmacSHA256(key: Terminals.key("P001-01"), message: Array("\(challenge):P001-01".utf8)))
        var bytes = Array("SIGNIN s terminal=P001-01 mac=\(mac)\n".utf8)
        bytes.reserveCapacity(total * 16)
        for i in 0..<total {
            bytes.append(contentsOf: "ENROLL p".utf8)
            Self.appendPadded(i, to: &bytes)
            bytes.append(UInt8(ascii: "\n"))
        }
        let written = loop.makePromise(of: Void.self)
        client.writeAndFlush(ByteBuffer(bytes: bytes), promise: written)

        // Wait until the server stops answering (its count steady over 40 looks, 2 s): it has
        // stopped reading, since the client reads nothing.
        var answered = 0
        var steady = 0
        while steady < 40 {
            try await Task.sleep(nanoseconds: 50_000_000)
            let now = Self.answered(registry)
            steady = now == answered ? steady + 1 : 0
            answered = now
        }
        #expect(answered < total, "the server read and answered everything while the client read nothing")
        #expect(answered > 0)

        // The client reads: the rest flows, and every reply arrives, in order.
        try await client.setOption(.autoRead, value: true).get()
        client.read()
        var received = try await replies.futureResult.get()
        for _ in 0..<2 { // the greeting and the SIGNIN's OK
            _ = received.readBytes(length: received.readableBytesView.firstIndex(of: 0x0A)! + 1 - received.readerIndex)
        }
        var expected: [UInt8] = []
        expected.reserveCapacity(total * 75)
        for i in 0..<total {
            expected.append(UInt8(ascii: "p"))
            Self.appendPadded(i, to: &expected)
            expected.append(contentsOf: " ERR FORBIDDEN msg=ENROLL%20is%20not%20allowed%20for%20a%20pharmacy%20terminal\n".utf8)
        }
        let same = received.withUnsafeReadableBytes { got in
            expected.withUnsafeBytes { want in got.count == want.count && memcmp(got.baseAddress!, want.baseAddress!, want.count) == 0 }
        }
        #expect(same, "every reply, once, in order")
        try await written.futureResult.get()
        #expect(Self.answered(registry) == total)
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

    /// `medsettle_requests_total{verb="ENROLL",code="FORBIDDEN"}` from the registry.
    static func answered(_ registry: PrometheusCollectorRegistry) -> Int {
        let prefix = #"medsettle_requests_total{verb="ENROLL",code="FORBIDDEN"} "#
        for line in registry.emitToString().split(separator: "\n") where line.hasPrefix(prefix) {
            return Int(Double(line.dropFirst(prefix.count)) ?? 0)
        }
        return 0
    }
}

/// Collects everything the server sends; succeeds with it once it holds `lines` lines, and with
/// the first line (the greeting) as soon as it is in.
private final class ReplyCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct Closed: Error {}

    let promise: EventLoopPromise<ByteBuffer>
    let firstLine: EventLoopPromise<String>
    private let lines: Int
    private var received = ByteBuffer()
    private var seen = 0
    private var done = false
    private var greeted = false

    init(lines: Int, promise: EventLoopPromise<ByteBuffer>, firstLine: EventLoopPromise<String>) {
        self.lines = lines
        self.promise = promise
        self.firstLine = firstLine
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard !done else { return }
        seen += buffer.withUnsafeReadableBytes { raw -> Int in
            guard var at = raw.baseAddress else { return 0 }
            let end = at + raw.count
            var count = 0
            while at < end, let found = memchr(at, 0x0A, end - at) {
                count += 1
                at = UnsafeRawPointer(found) + 1
            }
            return count
        }
        received.writeBuffer(&buffer)
        if !greeted, let end = received.readableBytesView.firstIndex(of: 0x0A) {
            greeted = true
            firstLine.succeed(String(decoding: received.readableBytesView[..<end], as: UTF8.self))
        }
        if seen >= lines {
            done = true
            promise.succeed(received)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !greeted {
            greeted = true
            firstLine.fail(Closed())
        }
        guard !done else { return }
        done = true
        promise.fail(Closed())
    }
}
