import Foundation
import Logging
import Synchronization

/// One line per event: `time level label message key=value …`, keys sorted, values quoted only
/// when they hold a space, quote or `=`. Easy for people to read and for log shippers to parse.
///
/// Nothing in the engine logs a field value of a request, so no PIN, key or QR token reaches a
/// log; as a second line of defence, metadata under a sensitive key is written as `***`.
public struct KeyValueLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: @Sendable (String) -> Void

    static let sensitiveKeys: Set<String> = ["pin", "new", "key", "mac", "qr", "secret", "password", "token"]

    /// - Parameter sink: where finished lines go (standard error by default).
    public init(label: String, level: Logger.Level = .info, sink: @escaping @Sendable (String) -> Void = KeyValueLogHandler.standardError) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // The usual request line has no handler or provided metadata: no merging then.
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata {
            if all.isEmpty { all = extra } else { all.merge(extra) { _, new in new } }
        }
        var line = Self.head(level: event.level, label: label, message: event.message.description)
        for key in all.keys.sorted() {
            Self.appendField(&line, key: key, value: Self.text(of: all[key]!))
        }
        sink(line)
    }

    /// One event as a line (without its LF): the format every line of the engine's log has,
    /// including the lines `LogWriter` writes about itself.
    static func line(level: Logger.Level, label: String, message: String, metadata: [String: String]) -> String {
        var line = head(level: level, label: label, message: message)
        for key in metadata.keys.sorted() { appendField(&line, key: key, value: metadata[key]!) }
        return line
    }

    /// `time level label message`.
    private static func head(level: Logger.Level, label: String, message: String) -> String {
        var line = timestamp()
        line.reserveCapacity(200)
        line += " "
        line += level.rawValue
        line += " "
        line += label
        line += " "
        line += quoted(message)
        return line
    }

    /// ` key=value`, the value masked under a sensitive key.
    private static func appendField(_ line: inout String, key: String, value: String) {
        line += " "
        line += key
        line += "="
        line += sensitiveKeys.contains(key) ? "***" : quoted(value)
    }

    private static func text(of value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array, .dictionary: value.description
        }
    }

    static func quoted(_ text: String) -> String {
        // Most values are short ASCII words and numbers: one pass over their bytes says so.
        if !text.isEmpty, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") }) {
            return text
        }
        guard text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) else { return text }
        var out = "\""
        for c in text {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    /// `2026-12-02T08:42:21.123Z`, written digit by digit (`String(format:)` goes through
    /// Foundation's formatter, which cost more than the rest of a request's line).
    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var at = 0
            func digits(_ value: Int, _ count: Int, then separator: UInt8?) {
                var value = value
                for place in stride(from: count - 1, through: 0, by: -1) {
                    buffer[at + place] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                at += count
                if let separator {
                    buffer[at] = separator
                    at += 1
                }
            }
            digits(Int(parts.tm_year) + 1900, 4, then: UInt8(ascii: "-"))
            digits(Int(parts.tm_mon) + 1, 2, then: UInt8(ascii: "-"))
            digits(Int(parts.tm_mday), 2, then: UInt8(ascii: "T"))
            digits(Int(parts.tm_hour), 2, then: UInt8(ascii: ":"))
            digits(Int(parts.tm_min), 2, then: UInt8(ascii: ":"))
            digits(Int(parts.tm_sec), 2, then: UInt8(ascii: "."))
            digits(Int(now.tv_nsec / 1_000_000), 3, then: UInt8(ascii: "Z"))
            return at
        }
    }

    /// One line at a time, so that lines of concurrent loggers never interleave.
    private static let writing = Mutex(())

    public static let standardError: @Sendable (String) -> Void = { line in
        writing.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
