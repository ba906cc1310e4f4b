import ArgumentParser
import CoreMetrics
import Dispatch
import Foundation
import Logging
import MedsettleServer
import Synchronization

/// The log of an engine process (`serve`, `demo`): one `time level label message key=value …`
/// line per event, to `log-file` or standard error, through a `LogWriter`, so that no event loop
/// ever waits for the disk or for whoever reads standard error. With a log file, SIGHUP reopens
/// it (after logrotate has moved it away).
final class EngineLog: Sendable {
    let writer: LogWriter
    /// Kept so that SIGHUP stays handled while the engine runs.
    private let hangup: Mutex<(any DispatchSourceSignal)?>

    private init(writer: LogWriter, hangup: sending (any DispatchSourceSignal)?) {
        self.writer = writer
        self.hangup = Mutex(hangup)
    }

    /// Opens the log (a file that cannot be opened is a usage error, before anything starts),
    /// starts its writer and makes it the process's log. Once per process.
    static func start(_ config: EngineConfiguration) throws -> EngineLog {
        let sink: any LogSink
        if let path = config.logFile {
            do { sink = try FileLogSink(path: path) } catch let error as LogFileError {
                throw ValidationError(error.description)
            }
        } else {
            sink = StandardErrorLogSink()
        }
        let writer = LogWriter(capacity: config.logBuffer, sink: sink)
        let level = config.logLevel
        LoggingSystem.bootstrap { label in KeyValueLogHandler(label: label, level: level, sink: writer.write) }
        var hangup: (any DispatchSourceSignal)?
        if config.logFile != nil {
            hangup = observeHangup { writer.reopen() }
        }
        return EngineLog(writer: writer, hangup: hangup)
    }

    /// `medsettle_log_lines_dropped_total` in the engine's metrics.
    func countDrops(in factory: any MetricsFactory) {
        writer.countDrops(in: factory)
    }

    /// Writes every line logged so far (at most 10 s on a stalled destination), then has later
    /// lines written at once.
    func close() {
        hangup.withLock { source in
            source?.cancel()
            source = nil
        }
        writer.close()
    }
}
