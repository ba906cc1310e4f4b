import PGClient

/// The card event log of one cardholder, for `medsettle card history`.
public struct CardEvent: Sendable, Codable, Hashable {
    public let id: Int64
    /// Asia/Shanghai local time, `YYYY-MM-DD HH:MM:SS`.
    public let time: String
    public let card: String?
    public let event: String
    public let channel: String
    public let terminal: String
    public let institution: String
    public let agent: String?
    public let detail: String?
}

public enum CardHistory {
    /// Every event of every card of the holder of `cardNo` (so a replacement's story stays whole),
    /// oldest first; nil when there is no such card.
    public static func load(_ connection: PGConnection, cardNo: String) throws -> [CardEvent]? {
        let holder = try connection.query("SELECT person_id FROM card WHERE card_no = $1", [cardNo])
        guard holder.rowCount == 1 else { return nil }
        let rows = try connection.query("""
            SELECT id, to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'), card_no, event,
                   channel, terminal, institution, agent_id, detail
            FROM card_event WHERE person_id = $1 ORDER BY id
            """, [try holder.requireInt64(0, 0)])
        return try (0..<rows.rowCount).map { row in
            CardEvent(id: try rows.requireInt64(row, 0), time: try rows.requireString(row, 1), card: rows.string(row, 2),
                      event: try rows.requireString(row, 3), channel: try rows.requireString(row, 4),
                      terminal: try rows.requireString(row, 5), institution: try rows.requireString(row, 6),
                      agent: rows.string(row, 7), detail: rows.string(row, 8))
        }
    }
}
