import Testing

@testable import MedsettleServer

/// /proc/self/stat as proc(5) lays it out, the command name holding spaces and parentheses.
@Suite struct ProcessMetricsTests {
    static let stat = "4242 (med (settle) x) S 1 4242 4242 0 -1 4194304 103 0 0 0 250 50 0 0 20 0 9 0 "
        + "120000 3133440 388 18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0"

    @Test func readsCPUMemoryAndStartFromStat() throws {
        let figures = try #require(ProcessFigures.parse(stat: Self.stat, ticksPerSecond: 100, pageSize: 4096, bootTime: 1_700_000_000))
        #expect(figures.cpuSeconds == 3.0)
        #expect(figures.residentBytes == 388 * 4096)
        #expect(figures.virtualBytes == 3_133_440)
        #expect(figures.startTime == 1_700_001_200)
        #expect(ProcessFigures.parse(stat: Self.stat, ticksPerSecond: 100, pageSize: 4096, bootTime: nil)?.startTime == nil)
        #expect(ProcessFigures.parse(stat: "4242 (cut", ticksPerSecond: 100, pageSize: 4096, bootTime: nil) == nil)
    }

    #if os(Linux)
    @Test func readsThisProcess() throws {
        let figures = try #require(ProcessFigures.read())
        #expect(figures.residentBytes > 0 && figures.openDescriptors > 0 && figures.maxDescriptors >= figures.openDescriptors)
    }
    #endif
}
