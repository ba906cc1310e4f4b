import MedsettleCore
import MedsettleSQL
import PGClient
import ReferenceFiles

/// Terminal keys that anyone can read: those of the demo data set (`sql/seed/terminals.csv`, in
/// this repository) and those the load tests derive from terminal ids. A terminal holding one
/// lets anyone sign in as it, so `serve` looks once at start (`find`), not on every SIGNIN.
public enum PublishedKeys {
    /// What `find` saw.
    public struct Finding: Sendable, Equatable {
        /// Terminals whose key is published, by id.
        public let published: [String]
        /// Terminals whose key does not open under this server's secret (set up with another one).
        public let unreadable: [String]
    }

    /// The demo data set's terminal keys (the shipped terminals.csv).
    public static func demoKeys() throws -> Set<[UInt8]> {
        let institutions = try InstitutionFile.institutions(try SQLResources.seedFile("institutions.csv"))
        let terminals = try TerminalFile.terminals(try SQLResources.seedFile("terminals.csv"), institutions: Set(institutions.map(\.code)))
        return Set(terminals.map(\.key))
    }

    /// Reads every terminal, opens its key with `secrets` and asks `isPublished` about it. Keys
    /// stay in this function.
    public static func find(_ connection: PGConnection, secrets: ServerSecrets,
                            isPublished: (_ terminal: String, _ key: [UInt8]) -> Bool) throws -> Finding {
        let (opened, unreadable) = ReferenceTables.openKeys(try connection.query(ReferenceTables.terminals()), with: secrets)
        let published = opened.filter { isPublished($0.row.id, $0.key) }.map(\.row.id)
        return Finding(published: published.sorted(), unreadable: unreadable.sorted())
    }
}
