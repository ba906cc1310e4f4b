import PGClient

/// The card event log of one cardholder, for `medsettle card history`.
public struct CardEvent: Sendable, Codable, Hashable, PGRowDecodable {
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

    public init(_ row: inout PGRow) {
        id = row("id")
        time = row("time")
        card = row("card_no")
        event = row("event")
        channel = row("channel")
        terminal = row("terminal")
        institution = row("institution")
        agent = row("agent_id")
        detail = row("detail")
    }
}

struct CardHolderID: PGRowDecodable {
    let personID: Int64
    init(_ row: inout PGRow) { personID = row("person_id") }
}

public enum CardHistory {
    static let holder = PGStatement<CardHolderID, String>("history_holder_of_card", "SELECT person_id FROM card WHERE card_no = $1")
    static let events = PGStatement<CardEvent, Int64, Int64, Int64>("history_events_of_person", """
        SELECT id, to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS time, card_no, event,
               channel, terminal, institution, agent_id, detail
        FROM card_event WHERE person_id = $1 AND id > $2 ORDER BY id LIMIT $3
        """)

    /// Every event of every card of the holder of `cardNo` (so a replacement's story stays whole),
    /// oldest first; nil when there is no such card. A page of them: those after the event `after`
    /// (an event id), at most `limit`.
    public static func load(_ connection: PGConnection, cardNo: String, after: Int64 = 0, limit: Int = .max) throws -> [CardEvent]? {
        guard let holder = try connection.query(holder(cardNo)).first else { return nil }
        return try connection.query(events(holder.personID, after, Int64(limit)))
    }
}
