/// The catalog and the policy table: the read-only data every pricing decision depends on.
/// Loaded once (from the shipped CSV copies or the database) and shared freely, hence a value type.
public struct ReferenceData: Sendable {
    /// Catalog items by code.
    public let catalog: [String: CatalogItem]
    /// Policy rows by (insurance, visit, level).
    public let policies: [PolicyKey: Policy]

    public init(catalog: [String: CatalogItem], policies: [PolicyKey: Policy]) {
        self.catalog = catalog
        self.policies = policies
    }

    /// The policy row for a claim, or nil when the table has none (a configuration gap the caller
    /// reports as `INTERNAL`, or `BAD_REQUEST` for a visit type the institution cannot serve).
    public func policy(for insurance: InsuranceType, visit: VisitType, level: Int) -> Policy? {
        policies[PolicyKey(insurance: insurance, visit: visit, level: level)]
    }
}
