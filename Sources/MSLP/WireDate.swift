/// A calendar date as MSLP/1 writes it: `YYYYMMDD` (a business date in Asia/Shanghai).
///
/// Only the calendar is checked here (proleptic Gregorian, years 0001–9999); which dates make
/// business sense is the caller's decision.
public struct WireDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// `nil` unless the date exists.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= WireDate.daysIn(month: month, year: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date as the integer `YYYYMMDD` (orders like the date).
    public var number: Int { year * 10_000 + month * 100 + day }

    /// The wire spelling, `YYYYMMDD` with leading zeros.
    public var description: String {
        let digits = String(number)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    public static func < (lhs: WireDate, rhs: WireDate) -> Bool { lhs.number < rhs.number }

    public static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
