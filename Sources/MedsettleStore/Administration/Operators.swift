import Crypto
import MedsettleCore
import PGClient

/// An operator of the admin side as `medsettle operator list` shows it: never a token.
public struct OperatorListing: Sendable, Equatable, Codable, PGRowDecodable {
    public let name: String
    /// Asia/Shanghai local time, `YYYY-MM-DD HH:MM:SS`.
    public let created: String
    /// When revoked (same form), nil while the token works.
    public let revoked: String?

    public init(_ row: inout PGRow) {
        name = row("name")
        created = row("created")
        revoked = row("revoked")
    }
}

/// A new operator and the token made for it, shown once (`operator add`).
public struct IssuedOperatorToken: Sendable {
    public let name: String
    public let token: String
}

/// Why an operator command changed nothing.
public enum OperatorError: Error, Equatable, CustomStringConvertible {
    case badName(String)
    /// The name is in use, or was and is revoked: audit rows name operators, so a name is never reused.
    case nameTaken(String)
    case unknown(String)

    public var description: String {
        switch self {
        case .badName(let name): return "operator name \(name) must be 1-32 of a-z 0-9 . _ -, starting with a letter"
        case .nameTaken(let name): return "operator \(name) exists or existed (audit rows name it): choose another name"
        case .unknown(let name): return "no operator \(name)"
        }
    }
}

enum OperatorSQL {
    struct Name: PGRowDecodable {
        let name: String
        init(_ row: inout PGRow) { name = row("name") }
    }

    static let insert = PGStatement<Name, String, PGBytes>("operator_insert", """
        INSERT INTO operator (name, token_sha256) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name
        """)
    static let revoke = PGStatement<Name, String>("operator_revoke", """
        UPDATE operator SET revoked_at = coalesce(revoked_at, now()) WHERE name = $1 RETURNING name
        """)
    static let list = PGStatement<OperatorListing>("operator_list", """
        SELECT name, to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS created,
               to_char(revoked_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS revoked
        FROM operator ORDER BY name
        """)
    static let byToken = PGStatement<Name, PGBytes>("operator_by_token", """
        SELECT name FROM operator WHERE token_sha256 = $1 AND revoked_at IS NULL
        """)
}

/// The operators of the admin side: tokens made here (32 random bytes, shown once as `mso_` and
/// 64 hex digits), kept as their SHA-256 only. Adding and revoking are recorded in the audit log
/// in the same transaction.
public enum Operators {
    /// What every token starts with, so that a leaked one is recognisable (secret scanners, logs).
    public static let tokenPrefix = "mso_"

    public static func add(_ connection: PGConnection, name: String, by actor: AuditActor) throws -> IssuedOperatorToken {
        guard isValidName(name) else { throw OperatorError.badName(name) }
        let token = tokenPrefix + encodeHex(randomBytes(32))
        return try connection.withTransaction { transaction in
            guard try transaction.query(OperatorSQL.insert(name, PGBytes(tokenHash(token)))).first != nil else {
                throw OperatorError.nameTaken(name)
            }
            _ = try transaction.commit(with: AuditLog.insert(AuditEntry(actor: actor, action: "operator.add", target: name, outcome: .done)))
            return IssuedOperatorToken(name: name, token: token)
        }
    }

    /// Revokes an operator's token at once (revoking twice is no error).
    public static func revoke(_ connection: PGConnection, name: String, by actor: AuditActor) throws {
        try connection.withTransaction { transaction in
            guard try transaction.query(OperatorSQL.revoke(name)).first != nil else { throw OperatorError.unknown(name) }
            _ = try transaction.commit(with: AuditLog.insert(AuditEntry(actor: actor, action: "operator.revoke", target: name, outcome: .done)))
        }
    }

    public static func list(_ connection: PGConnection) throws -> [OperatorListing] {
        try connection.query(OperatorSQL.list())
    }

    /// The operator whose working token this is, or nil.
    public static func authenticate(_ connection: PGConnection, token: String) throws -> String? {
        guard token.hasPrefix(tokenPrefix), token.utf8.count == tokenPrefix.utf8.count + 64 else { return nil }
        return try connection.query(OperatorSQL.byToken(PGBytes(tokenHash(token)))).first?.name
    }

    static func tokenHash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...32).contains(bytes.count), (0x61...0x7A).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }
}
