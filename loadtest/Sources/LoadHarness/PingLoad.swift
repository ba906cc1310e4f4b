import LoadData
import MedsettleStore
import NIOCore

/// The ping mix: on each signed-in connection, `pipeline` PINGs sent at once, their replies read,
/// again until the deadline — the front alone (framing, parse, route, encode, the socket), no
/// database, comparable with `redis-benchmark -t ping_inline` (whose `-P` is the pipeline depth).
/// Its connections are driven from the event loop (`EventLoopDriven`): with a task each, the
/// client spent about twice the server's CPU per PING, and the figure measured the harness more
/// than the front.
struct PingLoad {
    let configuration: LoadConfiguration
    let recorder: ReplyRecorder
    let deadline: ContinuousClock.Instant

    func run() async throws {
        let batch = Array((1...configuration.pipeline).map { "PING p\($0)\n" }.joined().utf8)
        let pipeline = configuration.pipeline
        let (recorder, deadline) = (recorder, deadline)
        try await EventLoopDriven.run(configuration) { index, finished in
            PingDriver(terminal: configuration.terminalName(forConnection: index), batch: batch,
                       pipeline: pipeline, deadline: deadline, recorder: recorder, finished: finished)
        }
    }
}

/// One ping connection: batches of PINGs until the deadline.
final class PingDriver: SignedInDriver {
    /// `PING p1` … `PING pN`, sent as one write.
    private let batch: [UInt8]
    private let pipeline: Int
    private let deadline: ContinuousClock.Instant
    private let recorder: ReplyRecorder
    /// The replies in order, as their bytes: `p1 OK` … `pN OK`.
    private let expectedReplies: [[UInt8]]
    private var batchBuffer: ByteBuffer?
    /// The batch out since `sentAt`; `answered` of its replies have come.
    private var sentAt = ContinuousClock.now
    private var answered = 0

    init(terminal: String, batch: [UInt8], pipeline: Int, deadline: ContinuousClock.Instant, recorder: ReplyRecorder,
         finished: EventLoopPromise<Void>) {
        self.batch = batch
        self.pipeline = pipeline
        self.deadline = deadline
        self.recorder = recorder
        self.expectedReplies = (1...pipeline).map { Array("p\($0) OK".utf8) }
        super.init(terminal: terminal, finished: finished)
    }

    override func start(_ context: ChannelHandlerContext) {
        batchBuffer = context.channel.allocator.buffer(bytes: batch)
        sendBatch(context)
    }

    override func received(_ line: [UInt8], _ context: ChannelHandlerContext) {
        guard line == expectedReplies[answered] else { return fail(context, unexpected(line)) }
        recorder.record(.ping, code: "OK", sentAt: sentAt)
        answered += 1
        if answered < pipeline { return }
        if ContinuousClock.now < deadline { sendBatch(context) } else { finish(context) }
    }

    private func sendBatch(_ context: ChannelHandlerContext) {
        sentAt = .now
        answered = 0
        send(context, batchBuffer!)
    }
}
