import NIOCore

/// What the framing layer hands up: one request line (without CR LF), or the news that a line
/// exceeded the limit, after which the connection is answered and closed.
public enum FramedLine: Sendable {
    case line([UInt8])
    case tooLong
}

/// Splits the byte stream into LF-terminated lines of at most `maxLength` bytes (not counting
/// CR LF), PROTOCOL.md "Framing". Never buffers more than `maxLength + 1` bytes of a partial line:
/// past that the line is too long whatever follows, and everything after is discarded.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = FramedLine

    public let maxLength: Int
    private var failed = false
    /// How far the current partial line has already been searched for LF.
    private var scanned = 0

    public init(maxLength: Int) {
        precondition(maxLength > 0, "a line limit is positive")
        self.maxLength = maxLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if failed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        let view = buffer.readableBytesView
        let searchStart = view.index(view.startIndex, offsetBy: scanned)
        guard let lf = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if view.count > maxLength + 1 { fail(context, &buffer) }
            return .needMoreData
        }
        var length = lf - view.startIndex
        let hasCR = length > 0 && view[lf - 1] == UInt8(ascii: "\r")
        if hasCR { length -= 1 }
        scanned = 0
        guard length <= maxLength else {
            fail(context, &buffer)
            return .needMoreData
        }
        let line = buffer.readBytes(length: length)!
        buffer.moveReaderIndex(forwardBy: hasCR ? 2 : 1)
        context.fireChannelRead(wrapInboundOut(.line(line)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // Lines end with LF; a partial line at EOF was never sent in full and is dropped.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }

    private mutating func fail(_ context: ChannelHandlerContext, _ buffer: inout ByteBuffer) {
        failed = true
        buffer.moveReaderIndex(to: buffer.writerIndex)
        context.fireChannelRead(wrapInboundOut(.tooLong))
    }
}
