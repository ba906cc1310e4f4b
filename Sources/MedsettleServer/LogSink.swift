import Foundation
import Synchronization

/// Where `LogWriter` puts its batches of lines. Called from the writer's thread (and, after the
/// writer has stopped, from whoever still logs), so it may block.
public protocol LogSink: Sendable {
    /// Writes these bytes (whole lines) entirely; false when the destination refused them.
    func write(_ bytes: [UInt8]) -> Bool
    /// Opens the destination again (a log file that logrotate moved away); nil when done or when
    /// there is nothing to reopen, else what went wrong (the old destination stays in use).
    func reopen() -> String?
}

/// Standard error (file descriptor 2).
public struct StandardErrorLogSink: LogSink {
    public init() {}

    public func write(_ bytes: [UInt8]) -> Bool { writeAll(2, bytes) }

    public func reopen() -> String? { nil }
}

/// A log file, opened for appending (created with mode 0640 when missing). `reopen()` opens the
/// path again, so that after logrotate has renamed the file (and sent SIGHUP) the engine writes to
/// a new one rather than on into the renamed file.
public final class FileLogSink: LogSink {
    public let path: String
    private let descriptor: Mutex<Int32>

    /// Opens `path`, or throws saying why not (at startup, before anything is served).
    public init(path: String) throws {
        self.path = path
        let fd = Self.open(path)
        guard fd >= 0 else { throw LogFileError(path: path, reason: String(cString: strerror(errno))) }
        descriptor = Mutex(fd)
    }

    deinit {
        descriptor.withLock { _ = closeDescriptor($0) }
    }

    public func write(_ bytes: [UInt8]) -> Bool {
        descriptor.withLock { writeAll($0, bytes) }
    }

    public func reopen() -> String? {
        let fresh = Self.open(path)
        guard fresh >= 0 else { return String(cString: strerror(errno)) }
        descriptor.withLock { fd in
            _ = closeDescriptor(fd)
            fd = fresh
        }
        return nil
    }

    private static func open(_ path: String) -> Int32 {
        openForAppending(path)
    }
}

/// A log file that cannot be opened.
public struct LogFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot open the log file \(path): \(reason)" }
}

/// `write(2)` until every byte is out, again after a signal interrupted it; false on an error.
private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

// The C calls, outside the types whose methods share their names.
private func openForAppending(_ path: String) -> Int32 {
    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
}

private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }
