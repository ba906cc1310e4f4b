/// The reimbursement class of a catalog item (RULES.md §4). The raw value is the CSV letter.
public enum ItemClass: String, Sendable, CaseIterable, Hashable {
    /// 甲类: fully in scope (up to the price limit).
    case a = "A"
    /// 乙类: in scope after a first self-paid share (up to the price limit).
    case b = "B"
    /// 丙类/自费: never in scope; the whole amount is fully self-paid.
    case c = "C"
}

/// What of a catalog item prices a line (RULES.md §4): its class, price limit and first-self-pay
/// ratio. A fee line keeps its upload day's classification however the catalog changes later.
public struct ItemClassification: Sendable, Hashable {
    public let itemClass: ItemClass
    /// 0 means no limit.
    public let priceLimit: Fen
    public let firstSelfPayBP: Int64

    public init(itemClass: ItemClass, priceLimit: Fen, firstSelfPayBP: Int64) {
        precondition((0...Pricing.maxPrice).contains(priceLimit), "price limit out of range")
        precondition((0...10_000).contains(firstSelfPayBP), "first self-pay ratio out of range")
        self.itemClass = itemClass
        self.priceLimit = priceLimit
        self.firstSelfPayBP = firstSelfPayBP
    }
}

/// One drug or service of the catalog (catalog.csv).
public struct CatalogItem: Sendable, Hashable {
    /// The item code terminals send in `items=` (e.g. `A001`).
    public let code: String
    public let name: String
    public let itemClass: ItemClass
    /// The unit the price is per (盒, 瓶, 日, …); informational.
    public let unit: String
    /// The highest unit price the fund recognises, in fen; 0 means no limit. The part of a line
    /// sold above it is fully self-paid.
    public let priceLimit: Fen
    /// For class B, the first self-paid share in basis points (1000 = 10 %); 0 for A and C.
    public let firstSelfPayBP: Int64
    /// Every package carries a 20-digit traceability code, named on each `SETTLE` line.
    public let traced: Bool

    /// Reference data is validated when loaded (`CatalogFile` in ReferenceFiles); a value out of range here
    /// is a programming error, and catching it at construction keeps pricing free of such checks.
    public init(code: String, name: String, itemClass: ItemClass, unit: String, priceLimit: Fen, firstSelfPayBP: Int64,
                traced: Bool = false) {
        precondition((0...Pricing.maxPrice).contains(priceLimit), "price limit out of range")
        precondition((0...10_000).contains(firstSelfPayBP), "first self-pay ratio out of range")
        self.code = code
        self.name = name
        self.itemClass = itemClass
        self.unit = unit
        self.priceLimit = priceLimit
        self.firstSelfPayBP = firstSelfPayBP
        self.traced = traced
    }

    /// What of the item prices a line.
    public var classification: ItemClassification {
        ItemClassification(itemClass: itemClass, priceLimit: priceLimit, firstSelfPayBP: firstSelfPayBP)
    }
}
