import Logging
import MedsettleCore
import PGClient
import Synchronization

/// What SIGNIN needs to know of a terminal. The key is unsealed only here, in memory.
public struct TerminalCredentials: Sendable {
    public let context: TerminalContext
    public let key: [UInt8]
    public let enabled: Bool
    /// What a session signs in under: a rotation or a disable since ends the session.
    public let standing: SignedInStanding
}

/// The counts a session signed in under (`terminal.key_version`, `terminal.disabled_count`).
public struct SignedInStanding: Sendable, Equatable {
    /// Bumped by every key rotation.
    public let keyVersion: Int
    /// Bumped by every disable, so that a disable seen late (after the enable that followed it)
    /// still ends the sessions from before it.
    public let disabledCount: Int

    public init(keyVersion: Int, disabledCount: Int) {
        self.keyVersion = keyVersion
        self.disabledCount = disabledCount
    }
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
        /// False while the follower has lost its connection: a change may be missed, so SIGNIN
        /// answers UNAVAILABLE rather than trust keys that may have been rotated.
        var isCurrent = true
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

    /// Where the terminal of a session signed in under `signedIn` stands now.
    public func standing(of terminal: String, signedInWith signedIn: SignedInStanding) -> TerminalStanding {
        guard let credentials = credentials(terminal), credentials.standing.keyVersion == signedIn.keyVersion else { return .rotated }
        guard credentials.enabled, credentials.standing.disabledCount == signedIn.disabledCount else { return .disabled }
        return .standing(credentials.context)
    }

    /// Whether the book follows the database's changes now (see `Snapshot.isCurrent`).
    public var isCurrent: Bool { state.withLock { $0.isCurrent } }

    func following(_ current: Bool) {
        state.withLock { $0.isCurrent = current }
    }

    // MARK: - loading

    /// Loads the named parts from the database; versions already held are kept (they never
    /// change). The new snapshot is built outside the lock every request takes and swapped in:
    /// there is one loader at a time (the store's start, then its follower).
    func load(_ parts: Set<Part>, from connection: PGConnection) throws {
        var next = state.withLock { $0 }
        if parts.contains(.catalog) {
            next.versions.add(catalogs: try ReferenceTables.catalogs(after: next.versions.latestCatalogVersion, connection))
        }
        if parts.contains(.policy) {
            next.versions.add(policies: try ReferenceTables.policies(after: next.versions.latestPolicyVersion, connection))
        }
        // A terminal's context carries its institution's kind and level: both reload together.
        if parts.contains(.institution) || parts.contains(.terminal) {
            let institutions = try connection.query(ReferenceTables.institutions()).map(\.institution)
            next.institutions = Dictionary(institutions.map { ($0.code, $0) }, uniquingKeysWith: { $1 })
            next.terminals = unseal(try connection.query(ReferenceTables.terminals()))
        }
        let loaded = next
        state.withLock { snapshot in
            snapshot.versions = loaded.versions
            snapshot.institutions = loaded.institutions
            snapshot.terminals = loaded.terminals
        }
    }

    private func unseal(_ rows: [ReferenceTables.TerminalRow]) -> [String: TerminalCredentials] {
        var credentials: [String: TerminalCredentials] = [:]
        let (opened, unopened) = ReferenceTables.openKeys(rows, with: secrets)
        for (row, key) in opened {
            let context = TerminalContext(terminal: row.id, institution: row.institution, kind: row.kind, level: row.level)
            credentials[row.id] = TerminalCredentials(context: context, key: key, enabled: row.enabled,
                                                      standing: SignedInStanding(keyVersion: row.keyVersion, disabledCount: row.disabledCount))
        }
        if !unopened.isEmpty {
            logger.error("terminal keys that do not open with this server's secret (was the database set up with another one?); these terminals cannot sign in",
                         metadata: ["terminals": "\(unopened.prefix(20).joined(separator: ","))", "count": "\(unopened.count)"])
        }
        return credentials
    }
}
