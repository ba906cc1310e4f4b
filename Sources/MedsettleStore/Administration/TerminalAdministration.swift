import MedsettleCore
import PGClient

/// A terminal as `medsettle terminal list` shows it: never its key.
public struct TerminalListing: Sendable, Equatable, PGRowDecodable {
    public let id: String
    public let institution: String
    public let kind: TerminalKind
    public let enabled: Bool

    public init(_ row: inout PGRow) {
        id = row("id")
        institution = row("institution")
        kind = row("kind")
        enabled = row("enabled")
    }
}

/// A terminal and the key made for it, shown once (`terminal add`, `terminal rotate-key`).
public struct IssuedTerminalKey: Sendable {
    public let terminal: String
    public let key: [UInt8]
}

/// Why an operator's terminal command changed nothing (ADMIN.md: a non-zero exit).
public enum TerminalAdministrationError: Error, Equatable, CustomStringConvertible {
    case unknownInstitution(String)
    case unknownTerminal(String)
    case idTaken(String)
    case badID(String)
    /// Every `CODE-NN` of the institution is taken.
    case institutionFull(String)

    public var description: String {
        switch self {
        case .unknownInstitution(let code): return "no institution \(code)"
        case .unknownTerminal(let id): return "no terminal \(id)"
        case .idTaken(let id): return "terminal \(id) already exists"
        case .badID(let id): return "terminal id \(id) must be 1-32 of A-Z a-z 0-9 . _ -"
        case .institutionFull(let code): return "institution \(code) has terminals \(code)-01 to \(code)-99 already"
        }
    }
}

enum TerminalAdministrationSQL {
    struct Code: PGRowDecodable {
        let code: String
        init(_ row: inout PGRow) { code = row("code") }
    }

    struct ID: PGRowDecodable {
        let id: String
        init(_ row: inout PGRow) { id = row("id") }
    }

    static let institution = PGStatement<Code, String>("admin_institution", "SELECT code FROM institution WHERE code = $1")
    static let idsOfInstitution = PGStatement<ID, String>("admin_terminal_ids", "SELECT id FROM terminal WHERE id LIKE $1 || '-%'")
    /// A new terminal (the demo data set's too); no row when the id is taken.
    static let insert = PGStatement<ID, String, String, PGBytes, Bool>("terminal_insert", """
        INSERT INTO terminal (id, institution, key_sealed, enabled) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO NOTHING RETURNING id
        """)
    /// Enables or disables; disabling an enabled terminal counts, so that its sessions end even if
    /// it is enabled again before a front has seen it disabled.
    static let setEnabled = PGStatement<ID, String, Bool>("admin_terminal_enable", """
        UPDATE terminal SET enabled = $2, disabled_count = disabled_count + CASE WHEN enabled AND NOT $2 THEN 1 ELSE 0 END
        WHERE id = $1 RETURNING id
        """)
    /// A new key, under a new key version: sessions signed in under the old one end.
    static let setKey = PGStatement<ID, String, PGBytes>("admin_terminal_key", """
        UPDATE terminal SET key_sealed = $2, key_version = key_version + 1 WHERE id = $1 RETURNING id
        """)
    static let list = PGStatement<TerminalListing>("admin_terminal_list", """
        SELECT t.id, t.institution, i.kind, t.enabled FROM terminal t JOIN institution i ON i.code = t.institution ORDER BY t.id
        """)
}

/// The operator's terminal commands (ADMIN.md "Terminals"): each one transaction; keys are made
/// here, sealed under the server secret, and returned once to be shown.
public struct TerminalAdministration: Sendable {
    let connection: PGConnection
    let secrets: ServerSecrets

    public init(connection: PGConnection, secrets: ServerSecrets) {
        self.connection = connection
        self.secrets = secrets
    }

    /// A new enabled terminal of `institution`: `id`, or the lowest unused `CODE-NN`.
    public func add(institution: String, id: String?) throws -> IssuedTerminalKey {
        if let id, !Self.isValidID(id) { throw TerminalAdministrationError.badID(id) }
        let key = randomBytes(32)
        let sealed = PGBytes(try secrets.seal(terminalKey: key))
        return try connection.withTransaction { transaction in
            guard try transaction.query(TerminalAdministrationSQL.institution(institution)).first != nil else {
                throw TerminalAdministrationError.unknownInstitution(institution)
            }
            let terminal: String
            if let id {
                terminal = id
            } else {
                let taken = Set(try transaction.query(TerminalAdministrationSQL.idsOfInstitution(institution)).map(\.id))
                guard let free = (1...99).lazy.map({ "\(institution)-" + ($0 < 10 ? "0\($0)" : "\($0)") }).first(where: { !taken.contains($0) }) else {
                    throw TerminalAdministrationError.institutionFull(institution)
                }
                terminal = free
            }
            guard try transaction.query(TerminalAdministrationSQL.insert(terminal, institution, sealed, true)).first != nil else {
                throw TerminalAdministrationError.idTaken(terminal)
            }
            try transaction.commit()
            return IssuedTerminalKey(terminal: terminal, key: key)
        }
    }

    /// Enables or disables a terminal (doing it twice is no error). `audit`, when given, is
    /// written in the same transaction: the change and its record are committed together.
    public func setEnabled(_ terminal: String, _ enabled: Bool, audit: AuditEntry? = nil) throws {
        try connection.withTransaction { transaction in
            guard try transaction.query(TerminalAdministrationSQL.setEnabled(terminal, enabled)).first != nil else {
                throw TerminalAdministrationError.unknownTerminal(terminal)
            }
            if let audit { _ = try transaction.query(AuditLog.insert(audit)) }
            try transaction.commit()
        }
    }

    /// A new key for a terminal; the old one stops signing in at once.
    public func rotateKey(_ terminal: String) throws -> IssuedTerminalKey {
        let key = randomBytes(32)
        let sealed = PGBytes(try secrets.seal(terminalKey: key))
        return try connection.withTransaction { transaction in
            guard try transaction.query(TerminalAdministrationSQL.setKey(terminal, sealed)).first != nil else {
                throw TerminalAdministrationError.unknownTerminal(terminal)
            }
            try transaction.commit()
            return IssuedTerminalKey(terminal: terminal, key: key)
        }
    }

    public func list() throws -> [TerminalListing] {
        try connection.query(TerminalAdministrationSQL.list())
    }

    /// Terminal ids as the protocol's `terminal=` takes them.
    static func isValidID(_ id: String) -> Bool {
        (1...32).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2D || byte == 0x2E
        }
    }
}
