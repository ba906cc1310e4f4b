/// The catalog and the policy in force on one business date: the read-only data every pricing
/// decision depends on, with the version numbers a settlement records (RULES.md §7). A value
/// type, shared freely; `ReferenceVersions.inForce(on:)` picks it.
public struct ReferenceData: Sendable {
    /// Catalog items by code.
    public let catalog: [String: CatalogItem]
    /// Policy rows by (insurance, visit, level).
    public let policies: [PolicyKey: Policy]
    /// The layers after the basic fund, by insurance type (none: the layers pay 0).
    public let benefits: [InsuranceType: Benefit]
    /// The catalog version `catalog` is.
    public let catalogVersion: Int
    /// The policy version `policies` and `benefits` are.
    public let policyVersion: Int

    public init(catalog: [String: CatalogItem], policies: [PolicyKey: Policy], benefits: [InsuranceType: Benefit] = [:],
                catalogVersion: Int = 1, policyVersion: Int = 1) {
        precondition(catalogVersion >= 1 && policyVersion >= 1, "versions count from 1")
        self.catalog = catalog
        self.policies = policies
        self.benefits = benefits
        self.catalogVersion = catalogVersion
        self.policyVersion = policyVersion
    }

    /// The policy row for a claim, or nil when the table has none (a configuration gap the caller
    /// reports as `INTERNAL`, or `BAD_REQUEST` for a visit type the institution cannot serve).
    public func policy(for insurance: InsuranceType, visit: VisitType, level: Int) -> Policy? {
        policies[PolicyKey(insurance: insurance, visit: visit, level: level)]
    }
}
