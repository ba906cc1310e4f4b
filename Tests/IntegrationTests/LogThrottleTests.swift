import Logging
import MedsettleServer
@testable import MedsettleStore
import Testing

/// During an outage every request fails alike: the warning goes out once a second, with the
/// number it stands for.
@Suite struct LogThrottleTests {
    @Test func aRepeatedWarningIsOneLineASecondWithItsCount() {
        let lines = LogLines()
        let logger = Logger(label: "medsettle.store") { label in
            KeyValueLogHandler(label: label, level: .info) { lines.append($0) }
        }
        let throttle = LogThrottle(interval: .seconds(1))
        let start = ContinuousClock.now
        for step in 0..<100 { // 100 failures over 0.99 s
            throttle.warning(logger, "database unavailable", metadata: ["operation": "SETTLE"], now: start + .milliseconds(step * 10))
        }
        #expect(lines.all.count == 1)
        #expect(!lines.all[0].contains("suppressed"))
        throttle.warning(logger, "database unavailable", metadata: ["operation": "SETTLE"], now: start + .milliseconds(1000))
        #expect(lines.all.count == 2)
        #expect(lines.all[1].contains("suppressed=99"), "\(lines.all[1])")
        throttle.warning(logger, "database unavailable", metadata: ["operation": "SETTLE"], now: start + .milliseconds(5000))
        #expect(lines.all.count == 3 && !lines.all[2].contains("suppressed"))
    }
}
