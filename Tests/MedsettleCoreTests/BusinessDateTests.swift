import Testing
@testable import MedsettleCore

@Suite("Business date (Asia/Shanghai) and clocks")
struct BusinessDateTests {
    // Unix seconds worked out as UTC instants; Shanghai is UTC+8.
    @Test(arguments: [
        (Int64(1_798_732_799), "20261231"),   // 2026-12-31 15:59:59Z = 23:59:59 +08
        (1_798_732_800, "20270101"),          // 2026-12-31 16:00:00Z = 2027-01-01 00:00 +08
        (1_709_136_000, "20240229"),          // 2024-02-28 16:00Z: leap day begins in Shanghai
        (1_709_222_399, "20240229"),          // 2024-02-29 15:59:59Z: its last second
        (1_677_600_000, "20230301"),          // 2023-02-28 16:00Z: no leap day in 2023
        (951_753_600, "20000229"),            // 2000 is a leap year (÷400)
        (4_107_513_600, "21000301"),          // 2100 is not (÷100)
        (0, "19700101"),                      // 08:00 +08
        (-28_800, "19700101"),                // 1970-01-01 00:00 +08
        (-28_801, "19691231"),                // one second earlier
        (1_795_881_600, "20261129"),          // the PROTOCOL.md example day
    ] as [(Int64, String)])
    func fromUnixSeconds(_ seconds: Int64, _ expected: String) {
        #expect(BusinessDate(unixSeconds: seconds).yyyymmdd == expected)
    }

    @Test(arguments: ["20240229", "20000229", "20261231", "00010101", "99991231", "19700101", "20260430"])
    func validYYYYMMDD(_ text: String) throws {
        let date = try #require(BusinessDate(yyyymmdd: text))
        #expect(date.yyyymmdd == text)
        #expect(BusinessDate(daysSinceEpoch: date.daysSinceEpoch) == date)
    }

    @Test(arguments: ["20230229", "21000229", "20261301", "20260001", "20260100", "20260431", "20261232",
                      "00000101", "2026123", "202612310", "2026-12-3", "2026123a", "", "２０２６１２３１"])
    func invalidYYYYMMDD(_ text: String) {
        #expect(BusinessDate(yyyymmdd: text) == nil)
    }

    @Test func startOfDayAndRoundTrip() throws {
        let day = try #require(BusinessDate(yyyymmdd: "20270101"))
        #expect(day.startUnixSeconds == 1_798_732_800)
        #expect(BusinessDate(unixSeconds: day.startUnixSeconds - 1) < day)
        #expect(day.next == BusinessDate(yyyymmdd: "20270102"))
        #expect(BusinessDate(yyyymmdd: "20240228")?.next == BusinessDate(yyyymmdd: "20240229"))
        // Every day of four years maps back and forth, and consecutive days are consecutive.
        var previous = BusinessDate(daysSinceEpoch: 20_000)
        for days in Int64(20_001)...21_461 {
            let date = BusinessDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
            #expect(previous < date && previous.next == date)
            #expect(BusinessDate(unixSeconds: date.startUnixSeconds) == date)
            previous = date
        }
    }

    @Test func ordering() throws {
        let a = try #require(BusinessDate(yyyymmdd: "20261231"))
        let b = try #require(BusinessDate(yyyymmdd: "20270101"))
        #expect(a < b && !(b < a))
        #expect(BusinessDate(year: 2026, month: 2, day: 29) == nil)
        #expect(BusinessDate(year: 2026, month: 12, day: 31) == a)
        #expect(a.description == "20261231")
    }

    @Test func clocks() {
        let fixed: any Clock = FixedClock(1_798_732_799)
        #expect(fixed.now() == 1_798_732_799)
        #expect(fixed.today().yyyymmdd == "20261231")
        #expect(SystemClock().now() > 1_700_000_000)
    }

    @available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
    @Test func manualClockCrossesMidnight() async {
        let clock = ManualClock(1_798_732_799)
        #expect(clock.today().yyyymmdd == "20261231")
        #expect(clock.advance(by: 1) == 1_798_732_800)
        #expect(clock.today().yyyymmdd == "20270101")
        clock.set(0)
        #expect(clock.now() == 0)
        // Shared between tasks: 100 concurrent one-second advances all land.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<100 { group.addTask { clock.advance(by: 1) } }
        }
        #expect(clock.now() == 100)
    }
}
