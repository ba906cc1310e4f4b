import Foundation

/// The SQL files shipped inside the binary's resource bundle: numbered migrations and the demo seed.
public enum SQLResources {
    public struct Migration: Sendable {
        /// The number that orders migrations (`0001_core.sql` is 1).
        public let version: Int
        public let name: String
        public let sql: String
        /// The file as it is on disk, for its checksum (`sha256sum` of the file gives the same).
        public let bytes: [UInt8]

        public init(version: Int, name: String, sql: String) {
            self.init(version: version, name: name, bytes: Array(sql.utf8), sql: sql)
        }

        init(version: Int, name: String, bytes: [UInt8], sql: String) {
            self.version = version
            self.name = name
            self.bytes = bytes
            self.sql = sql
        }
    }

    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// All migrations, in version order.
    public static func migrations() throws -> [Migration] {
        guard let dir = Bundle.module.url(forResource: "migrations", withExtension: nil) else {
            throw Missing(description: "the migrations resource folder is missing from the bundle")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }
        var result: [Migration] = []
        for file in files {
            guard let version = Int(file.prefix { $0.isNumber }) else {
                throw Missing(description: "migration \(file) does not start with its number")
            }
            let bytes = Array(try Data(contentsOf: dir.appendingPathComponent(file)))
            guard let sql = String(validating: bytes, as: UTF8.self) else {
                throw Missing(description: "migration \(file) is not UTF-8")
            }
            result.append(Migration(version: version, name: file, bytes: bytes, sql: sql))
        }
        result.sort { $0.version < $1.version }
        for (a, b) in zip(result, result.dropFirst()) where a.version == b.version {
            throw Missing(description: "two migrations share number \(a.version): \(a.name), \(b.name)")
        }
        return result
    }

    /// A file of the demo seed (`institutions.csv`, `terminals.csv`, `catalog.csv`, `policy.csv`).
    public static func seedFile(_ name: String) throws -> String {
        guard let dir = Bundle.module.url(forResource: "seed", withExtension: nil) else {
            throw Missing(description: "the seed resource folder is missing from the bundle")
        }
        return try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
    }

    /// The application role's grants (`roles/app_grants.sql`) for `role`, a lowercase SQL name
    /// (`[a-z_][a-z0-9_]*`, at most 63 bytes: it is written into the SQL unquoted), neither
    /// `public` nor a `pg_` role; nil when the name is not one.
    public static func applicationGrants(role: String) throws -> String? {
        let bytes = Array(role.utf8)
        // `public` would grant to every role; `pg_` names are PostgreSQL's own.
        guard role != "public", !role.hasPrefix("pg_"), (1...63).contains(bytes.count), !(0x30...0x39).contains(bytes[0]),
              bytes.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }) else { return nil }
        guard let dir = Bundle.module.url(forResource: "roles", withExtension: nil) else {
            throw Missing(description: "the roles resource folder is missing from the bundle")
        }
        let text = try String(contentsOf: dir.appendingPathComponent("app_grants.sql"), encoding: .utf8)
        return text.replacingOccurrences(of: "medsettle_app", with: role)
    }
}
