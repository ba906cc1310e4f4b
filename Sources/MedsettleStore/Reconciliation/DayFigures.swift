import MedsettleCore
import PGClient

/// Settlements made in one minute by terminals of one institution kind.
public struct MinuteCount: Sendable, Codable, Equatable, PGRowDecodable {
    /// `HH:MM`, Asia/Shanghai.
    public let minute: String
    public let kind: String
    public let count: Int64

    public init(_ row: inout PGRow) {
        minute = row("minute")
        kind = row("kind")
        count = row("count")
    }
}

/// A business date's activity for the console's chart: settlements made (whatever became of
/// them since) per minute and institution kind. The day's money is `SettlementReports.daily`.
public enum DayActivity {
    /// From the institutions, so that each one's (institution, business_date) index is used.
    static let perMinuteSQL = PGStatement<MinuteCount, String>("activity_per_minute", """
        SELECT to_char(date_trunc('minute', s.created_at AT TIME ZONE 'Asia/Shanghai'), 'HH24:MI') AS minute, i.kind,
               count(*) AS count
        FROM institution i JOIN settlement s ON s.institution = i.code AND s.business_date = $1::date
        GROUP BY 1, 2 ORDER BY 1, 2
        """)

    /// At most 1440 minutes times the kinds: bounded by the day itself.
    public static func perMinute(_ connection: PGConnection, date: BusinessDate) throws -> [MinuteCount] {
        try connection.query(perMinuteSQL(date.yyyymmdd))
    }
}
