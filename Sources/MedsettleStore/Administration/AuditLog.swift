import MedsettleCore
import PGClient

/// Who did an admin action, and from where: an operator of the HTTP side (nil when no valid token
/// came) at a client address, or a local user of a CLI command.
public struct AuditActor: Sendable, Equatable {
    public enum Channel: String, Sendable { case http, cli }

    public let operatorName: String?
    public let channel: Channel
    /// The client's address (`http`), or `user NAME on HOST` (`cli`).
    public let client: String

    public init(operatorName: String?, channel: Channel, client: String) {
        self.operatorName = operatorName
        self.channel = channel
        self.client = client
    }
}

/// How an audited action ended.
public enum AuditOutcome: String, Sendable, Codable {
    /// Done as asked.
    case done
    /// Refused: no or a bad token, a bad request, an unknown card or terminal.
    case refused
    /// The engine could not do it (the database out of reach, a bug).
    case failed
}

/// One row of the audit log, as written.
public struct AuditEntry: Sendable {
    public let actor: AuditActor
    /// What was asked, e.g. `terminal.disable`, `card.history`, `GET /api/v1/nowhere`.
    public let action: String
    /// What it was about (a terminal, a card, a date), when anything.
    public let target: String?
    public let outcome: AuditOutcome
    /// The HTTP status answered (`http` only).
    public let status: Int?
    /// Why it was refused or failed; never a token.
    public let detail: String?

    public init(actor: AuditActor, action: String, target: String? = nil, outcome: AuditOutcome, status: Int? = nil,
                detail: String? = nil) {
        self.actor = actor
        self.action = action
        self.target = target
        self.outcome = outcome
        self.status = status
        self.detail = detail
    }
}

/// A row of the audit log as read back.
public struct AuditRecord: Sendable, Codable, Equatable, PGRowDecodable {
    public let id: Int64
    /// Asia/Shanghai local time, `YYYY-MM-DD HH:MM:SS`.
    public let time: String
    public let `operator`: String?
    public let channel: String
    public let client: String
    public let action: String
    public let target: String?
    public let outcome: String
    public let status: Int?
    public let detail: String?

    public init(_ row: inout PGRow) {
        id = row("id")
        time = row("time")
        `operator` = row("operator")
        channel = row("channel")
        client = row("client")
        action = row("action")
        target = row("target")
        outcome = row("outcome")
        status = row("status")
        detail = row("detail")
    }
}

/// The append-only audit log of admin actions (migration 0011: its triggers refuse UPDATE,
/// DELETE and TRUNCATE).
public enum AuditLog {
    static let insertSQL = PGStatement<PGNoRows, String?, String, String, String, String?, String, Int?, String?>("audit_insert", """
        INSERT INTO admin_audit (operator, channel, client, action, target, outcome, status, detail)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """)
    static let pageSQL = PGStatement<AuditRecord, Int64, Int64>("audit_page", """
        SELECT id, to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS time, operator, channel, client,
               action, target, outcome, status, detail
        FROM admin_audit WHERE id < $1 ORDER BY id DESC LIMIT $2
        """)

    /// The row as a statement, to run alone or inside the transaction of the action it records.
    public static func insert(_ entry: AuditEntry) -> PGBound<PGNoRows> {
        insertSQL(entry.actor.operatorName, entry.actor.channel.rawValue, String(entry.actor.client.prefix(200)),
                  String(entry.action.prefix(200)), entry.target.map { String($0.prefix(200)) }, entry.outcome.rawValue,
                  entry.status, entry.detail.map { String($0.prefix(500)) })
    }

    public static func record(_ connection: PGConnection, _ entry: AuditEntry) throws {
        _ = try connection.query(insert(entry))
    }

    /// The newest rows before `before` (a row id; `Int64.max` for the newest), newest first.
    public static func page(_ connection: PGConnection, before: Int64, limit: Int) throws -> [AuditRecord] {
        try connection.query(pageSQL(before, Int64(limit)))
    }
}
