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
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        sink(Self.line(level: event.level, label: label, message: "\(event.message)", metadata: all.mapValues { "\($0)" }))
    }

    /// One event as a line (without its LF): the format every line of the engine's log has,
    /// including the lines `LogWriter` writes about itself.
    static func line(level: Logger.Level, label: String, message: String, metadata: [String: String]) -> String {
        var line = timestamp() + " " + level.rawValue + " " + label + " " + quoted(message)
        for key in metadata.keys.sorted() {
            let value = sensitiveKeys.contains(key) ? "***" : quoted(metadata[key]!)
            line += " \(key)=\(value)"
        }
        return line
    }

    static func quoted(_ text: String) -> String {
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

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.tv_nsec / 1_000_000))
    }

    /// One line at a time, so that lines of concurrent loggers never interleave.
    private static let writing = Mutex(())

    public static let standardError: @Sendable (String) -> Void = { line in
        writing.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
