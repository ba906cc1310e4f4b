import Logging
import MedsettleCore
import PGClient
import Synchronization

/// What SIGNIN needs to know of a terminal. The key is unsealed only here, in memory.
public struct TerminalCredentials: Sendable {
    public let context: TerminalContext
    public let key: [UInt8]
    public let enabled: Bool
    /// Bumped by every key rotation: a session signed in under an older one ends.
    public let keyVersion: Int
}

/// Where a signed-in session's terminal stands now (RULES.md §7 "Terminals").
public enum TerminalStanding: Sendable, Equatable {
    /// Still enabled under the key the session signed in with; its context as it is now (an
    /// institution import may have changed the level).
    case standing(TerminalContext)
    case disabled
    /// Its key was rotated (or it is gone): only the new key signs in.
    case rotated
}

/// ITEMINFO's answer: a catalog item as the version in force on a date has it.
public struct ItemInfo: Sendable, Equatable {
    public let item: CatalogItem
    public let version: Int
    public let effective: BusinessDate
}

/// The reference data every front keeps in memory so that neither a claim nor a SIGNIN costs a
/// database query for it: every catalog and policy version, the institutions, and the terminals
/// with their keys. `ReferenceFollower` reloads the part that changed when an import or a
/// terminal command commits (PostgreSQL NOTIFY), within milliseconds on every front.
public final class ReferenceBook: Sendable {
    /// A part of the reference data, as the NOTIFY payload names it.
    public enum Part: String, Sendable, CaseIterable {
        case catalog, policy, institution, terminal
    }

    struct Snapshot: Sendable {
        var versions = ReferenceVersions()
        var institutions: [String: InstitutionRecord] = [:]
        var terminals: [String: TerminalCredentials] = [:]
    }

    private let state = Mutex(Snapshot())
    private let secrets: ServerSecrets
    private let logger: Logger

    init(secrets: ServerSecrets, logger: Logger) {
        self.secrets = secrets
        self.logger = logger
    }

    // MARK: - reading (every request)

    /// The catalog and policy in force on `date`, or nil when none is (claims answer BAD_STATE).
    public func reference(on date: BusinessDate) -> ReferenceData? {
        state.withLock { $0.versions }.inForce(on: date)
    }

    /// ITEMINFO (目录查询): the item in the catalog version in force on `date`; `UNKNOWN_ITEM`
    /// when it is not in it, `BAD_STATE` when no version is in force then.
    public func item(_ code: String, on date: BusinessDate) -> Answer<ItemInfo> {
        guard let catalog = versions.catalog(on: date) else {
            return .failure(Refusal(.badState, "no catalog version is in force on \(date.yyyymmdd)"))
        }
        guard let item = catalog.items[code] else { return .failure(.unknownItem(code)) }
        return .success(ItemInfo(item: item, version: catalog.version, effective: catalog.effective))
    }

    public var versions: ReferenceVersions { state.withLock { $0.versions } }

    public var institutions: [String: InstitutionRecord] { state.withLock { $0.institutions } }

    /// The terminal's record and key; nil when there is no such terminal (or its key does not
    /// open under this server's secret, which was logged when it was loaded).
    public func credentials(_ terminal: String) -> TerminalCredentials? {
        state.withLock { $0.terminals[terminal] }
    }

    /// Where the terminal of a session signed in under `keyVersion` stands now.
    public func standing(of terminal: String, signedInWith keyVersion: Int) -> TerminalStanding {
        guard let credentials = credentials(terminal), credentials.keyVersion == keyVersion else { return .rotated }
        return credentials.enabled ? .standing(credentials.context) : .disabled
    }

    // MARK: - loading

    /// Loads the named parts from the database; versions already held are kept (they never change).
    func load(_ parts: Set<Part>, from connection: PGConnection) throws {
        let known = state.withLock { ($0.versions.latestCatalogVersion, $0.versions.latestPolicyVersion) }
        let catalogs = parts.contains(.catalog) ? try ReferenceTables.catalogs(after: known.0, connection) : []
        let policies = parts.contains(.policy) ? try ReferenceTables.policies(after: known.1, connection) : []
        // A terminal's context carries its institution's kind and level: both reload together.
        let people = parts.contains(.institution) || parts.contains(.terminal)
        let institutions = people ? try connection.query(ReferenceTables.institutions()).map(\.institution) : nil
        let terminals = people ? try connection.query(ReferenceTables.terminals()) : nil
        let credentials = institutions.flatMap { institutions in terminals.map { unseal($0, institutions: institutions) } }
        state.withLock { snapshot in
            snapshot.versions.add(catalogs: catalogs)
            snapshot.versions.add(policies: policies)
            if let institutions { snapshot.institutions = Dictionary(institutions.map { ($0.code, $0) }, uniquingKeysWith: { $1 }) }
            if let credentials { snapshot.terminals = credentials }
        }
    }

    private func unseal(_ rows: [ReferenceTables.TerminalRow], institutions: [InstitutionRecord]) -> [String: TerminalCredentials] {
        let byCode = Dictionary(institutions.map { ($0.code, $0) }, uniquingKeysWith: { $1 })
        var credentials: [String: TerminalCredentials] = [:]
        var unopened: [String] = []
        for row in rows {
            guard let institution = byCode[row.institution] else { preconditionFailure("a terminal's institution exists (foreign key)") }
            guard let key = try? secrets.open(sealedTerminalKey: row.sealedKey) else {
                unopened.append(row.id)
                continue
            }
            let context = TerminalContext(terminal: row.id, institution: row.institution, kind: institution.kind, level: institution.level)
            credentials[row.id] = TerminalCredentials(context: context, key: key, enabled: row.enabled, keyVersion: row.keyVersion)
        }
        if !unopened.isEmpty {
            logger.error("terminal keys that do not open with this server's secret (was the database set up with another one?); these terminals cannot sign in",
                         metadata: ["terminals": "\(unopened.prefix(20).joined(separator: ","))", "count": "\(unopened.count)"])
        }
        return credentials
    }
}
