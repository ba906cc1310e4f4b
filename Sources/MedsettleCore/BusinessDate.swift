/// A settlement's business date: the calendar day in Asia/Shanghai (UTC+8, no daylight saving
/// since 1991), which decides the accumulator year (RULES.md §4) and the reconciliation day (§5).
/// Computed from unix seconds with integer calendar arithmetic — no Foundation, no time-zone
/// database — so every server instance agrees regardless of its own TZ setting.
public struct BusinessDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Shanghai is 8 hours ahead of UTC all year.
    public static let utcOffsetSeconds: Int64 = 8 * 3600
    static let secondsPerDay: Int64 = 86_400

    /// A real calendar date in years 1…9999 (four-digit `yyyymmdd`), or nil.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              (1...BusinessDate.daysIn(month: month, year: year)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The Shanghai calendar day containing the instant `unixSeconds`.
    public init(unixSeconds: Int64) {
        // Split into whole UTC days and seconds into the day first, so adding the offset cannot
        // overflow even at the extremes of Int64.
        var days = floorDiv(unixSeconds, Self.secondsPerDay)
        let secondOfDay = unixSeconds - days * Self.secondsPerDay
        if secondOfDay + Self.utcOffsetSeconds >= Self.secondsPerDay { days += 1 }
        self.init(daysSinceEpoch: days)
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's civil-from-days algorithm, exact for
    /// the proleptic Gregorian calendar).
    public init(daysSinceEpoch days: Int64) {
        precondition(days > -719_162 - 1 && days < 2_932_897, "business dates are within years 1…9999")
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097                                           // [0, 146096]
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365     // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)                     // [0, 365]
        let mp = (5 * doy + 2) / 153                                          // [0, 11], March = 0
        let d = doy - (153 * mp + 2) / 5 + 1                                  // [1, 31]
        let m = mp < 10 ? mp + 3 : mp - 9                                     // [1, 12]
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.year = Int(y)
        self.month = Int(m)
        self.day = Int(d)
    }

    /// Days since 1970-01-01 (the inverse of `init(daysSinceEpoch:)`).
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let m = Int64(month), d = Int64(day)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The unix second at which this day begins in Shanghai (00:00 +08:00); the day ends where
    /// the next one begins. Handy for querying a day's settlements by timestamp.
    public var startUnixSeconds: Int64 { daysSinceEpoch * Self.secondsPerDay - Self.utcOffsetSeconds }

    /// The following day.
    public var next: BusinessDate { BusinessDate(daysSinceEpoch: daysSinceEpoch + 1) }

    /// `YYYYMMDD`, as on the wire (`date=`).
    public var yyyymmdd: String {
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2)
    }

    public var description: String { yyyymmdd }

    /// Parses exactly 8 ASCII digits naming a real calendar date (leap years included).
    public init?(yyyymmdd text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 8, bytes.allSatisfy(isASCIIDigit) else { return nil }
        func number(_ range: Range<Int>) -> Int { bytes[range].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        self.init(year: number(0..<4), month: number(4..<6), day: number(6..<8))
    }

    public static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (lhs: BusinessDate, rhs: BusinessDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}
