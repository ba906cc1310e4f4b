import CoreMetrics
import Foundation
import Synchronization

/// The process's own figures as metrics, read from /proc when Prometheus asks (`refresh()` before
/// each scrape), under the engine's one prefix: `medsettle_process_*` are the figures every
/// Prometheus client library exports as `process_*` (resident memory, open and maximum file
/// descriptors, CPU seconds, start time), and `medsettle_build_info{version}` is 1.
///
/// Neither swift-metrics nor swift-prometheus collects them; /proc is Linux's, so elsewhere the
/// process figures stay 0.
public final class ProcessMetrics: Sendable {
    private let residentMemory: Gauge
    private let virtualMemory: Gauge
    private let openDescriptors: Gauge
    private let maxDescriptors: Gauge
    private let startTime: Gauge
    private let cpuSeconds: FloatingPointCounter
    /// CPU seconds already counted (the counter only moves forward, by the difference).
    private let cpuCounted = Mutex(0.0)
    /// The start time when /proc/stat (the boot time) cannot be read — a service unit with
    /// `ProcSubset=pid` shows a process only its own /proc/PID: when these metrics were made,
    /// which is within a second of the start.
    private let madeAt = Date().timeIntervalSince1970

    public init(factory: any MetricsFactory, version: String) {
        residentMemory = Gauge(label: "medsettle_process_resident_memory_bytes", factory: factory)
        virtualMemory = Gauge(label: "medsettle_process_virtual_memory_bytes", factory: factory)
        openDescriptors = Gauge(label: "medsettle_process_open_fds", factory: factory)
        maxDescriptors = Gauge(label: "medsettle_process_max_fds", factory: factory)
        startTime = Gauge(label: "medsettle_process_start_time_seconds", factory: factory)
        cpuSeconds = FloatingPointCounter(label: "medsettle_process_cpu_seconds_total", factory: factory)
        Gauge(label: "medsettle_build_info", dimensions: [("version", version)], factory: factory).record(1)
        refresh()
    }

    /// Reads the figures now.
    public func refresh() {
        guard let figures = ProcessFigures.read() else { return }
        residentMemory.record(figures.residentBytes)
        virtualMemory.record(figures.virtualBytes)
        openDescriptors.record(figures.openDescriptors)
        maxDescriptors.record(figures.maxDescriptors)
        startTime.record(figures.startTime ?? madeAt)
        let delta = cpuCounted.withLock { counted -> Double in
            let delta = figures.cpuSeconds - counted
            guard delta > 0 else { return 0 }
            counted = figures.cpuSeconds
            return delta
        }
        if delta > 0 { cpuSeconds.increment(by: delta) }
    }
}

/// One reading of /proc/self: `stat` (CPU ticks, start ticks after boot, memory), the `fd`
/// directory, the descriptor limit, and the boot time from /proc/stat.
struct ProcessFigures: Equatable {
    var residentBytes: Int
    var virtualBytes: Int
    var openDescriptors: Int
    var maxDescriptors: Int
    var cpuSeconds: Double
    /// Seconds since the epoch; nil when the boot time is unknown.
    var startTime: Double?

    static func read() -> ProcessFigures? {
        #if os(Linux)
        let bootTime = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) }
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              var figures = parse(stat: stat, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
                                  pageSize: sysconf(Int32(_SC_PAGESIZE)), bootTime: bootTime) else { return nil }
        figures.openDescriptors = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 1) - 1
        var limit = rlimit()
        if getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 { figures.maxDescriptors = Int(clamping: limit.rlim_cur) }
        return figures
        #else
        return nil
        #endif
    }

    /// The fields of /proc/self/stat (proc(5)): after the command name in parentheses (which may
    /// hold spaces and parentheses itself) come field 3 on; utime and stime are 14 and 15,
    /// starttime 22, vsize 23 and rss 24 (in pages).
    static func parse(stat: String, ticksPerSecond: Double, pageSize: Int, bootTime: Double?) -> ProcessFigures? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state).
        func field(_ number: Int) -> Double? { number - 3 < fields.count ? Double(fields[number - 3]) : nil }
        guard ticksPerSecond > 0, let user = field(14), let system = field(15), let start = field(22),
              let virtual = field(23), let resident = field(24) else { return nil }
        return ProcessFigures(residentBytes: Int(resident) * pageSize, virtualBytes: Int(virtual), openDescriptors: 0,
                              maxDescriptors: 0, cpuSeconds: (user + system) / ticksPerSecond,
                              startTime: bootTime.map { $0 + start / ticksPerSecond })
    }
}

#if os(Linux)
/// Glibc imports RLIMIT_NOFILE as an enum case of `__rlimit_resource`; getrlimit takes its raw value.
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#endif
