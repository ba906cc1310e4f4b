/// One imported version of the catalog: the whole catalog, in force from `effective` until a
/// version with a later effective date (RULES.md §7).
public struct CatalogVersion: Sendable {
    /// Positive, larger for every later import.
    public let version: Int
    public let effective: BusinessDate
    /// When it was imported, in unix seconds.
    public let importedAt: Int64
    public let items: [String: CatalogItem]

    public init(version: Int, effective: BusinessDate, importedAt: Int64, items: [String: CatalogItem]) {
        precondition(version >= 1, "versions count from 1")
        self.version = version
        self.effective = effective
        self.importedAt = importedAt
        self.items = items
    }
}

/// One imported version of the policy: the policy rows and the benefit rows together.
public struct PolicyVersion: Sendable {
    public let version: Int
    public let effective: BusinessDate
    public let importedAt: Int64
    public let policies: [PolicyKey: Policy]
    public let benefits: [InsuranceType: Benefit]

    public init(version: Int, effective: BusinessDate, importedAt: Int64, policies: [PolicyKey: Policy],
                benefits: [InsuranceType: Benefit]) {
        precondition(version >= 1, "versions count from 1")
        self.version = version
        self.effective = effective
        self.importedAt = importedAt
        self.policies = policies
        self.benefits = benefits
    }
}

/// Every version of the catalog and of the policy, and which is in force on a date: the one with
/// the latest effective date on or before it, ties going to the latest import (RULES.md §7, §12).
public struct ReferenceVersions: Sendable {
    /// Ordered by (effective, version): the last one on or before a date is the one in force.
    public private(set) var catalogs: [CatalogVersion]
    public private(set) var policies: [PolicyVersion]

    public init(catalogs: [CatalogVersion] = [], policies: [PolicyVersion] = []) {
        self.catalogs = catalogs.sorted { ($0.effective, $0.version) < ($1.effective, $1.version) }
        self.policies = policies.sorted { ($0.effective, $0.version) < ($1.effective, $1.version) }
    }

    /// Adds versions not held yet (versions never change once imported, so a known number is
    /// skipped). An item unchanged from the latest version held is kept as that version's value,
    /// so that consecutive versions share the storage of their strings.
    public mutating func add(catalogs new: [CatalogVersion]) {
        let known = Set(catalogs.map(\.version))
        var latest = catalogs.max { $0.version < $1.version }
        var added: [CatalogVersion] = []
        for version in new.sorted(by: { $0.version < $1.version }) where !known.contains(version.version) {
            var items = version.items
            if let previous = latest?.items {
                for (code, item) in items { if let old = previous[code], old == item { items[code] = old } }
            }
            let shared = CatalogVersion(version: version.version, effective: version.effective, importedAt: version.importedAt, items: items)
            added.append(shared)
            latest = shared
        }
        self = ReferenceVersions(catalogs: catalogs + added, policies: policies)
    }

    public mutating func add(policies new: [PolicyVersion]) {
        let known = Set(policies.map(\.version))
        self = ReferenceVersions(catalogs: catalogs, policies: policies + new.filter { !known.contains($0.version) })
    }

    public var latestCatalogVersion: Int { catalogs.map(\.version).max() ?? 0 }
    public var latestPolicyVersion: Int { policies.map(\.version).max() ?? 0 }

    /// The catalog version in force on `date`, if any. A handful of versions: a scan from the end.
    public func catalog(on date: BusinessDate) -> CatalogVersion? {
        catalogs.last { $0.effective <= date }
    }

    public func policy(on date: BusinessDate) -> PolicyVersion? {
        policies.last { $0.effective <= date }
    }

    /// The catalog and the policy in force on `date`; nil when either has no version in force
    /// then (claims answer `BAD_STATE`).
    public func inForce(on date: BusinessDate) -> ReferenceData? {
        guard let catalog = catalog(on: date), let policy = policy(on: date) else { return nil }
        return ReferenceData(catalog: catalog.items, policies: policy.policies, benefits: policy.benefits,
                             catalogVersion: catalog.version, policyVersion: policy.version)
    }
}
