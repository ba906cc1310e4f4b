import MedsettleCore

/// A catalog file (ADMIN.md "Catalog and policy versions"): the whole catalog of one version.
public enum CatalogFile {
    public static let requiredColumns = ["code", "name", "class", "unit", "price_limit_fen", "first_selfpay_bp"]
    /// `traced` defaults to 0: most items carry no traceability code.
    public static let optionalColumns = ["traced"]

    /// The items of `text`, in file order. Codes are unique; only class B may carry a first
    /// self-paid share (RULES.md §4), so a non-zero one on A or C is refused as a likely slip
    /// rather than ignored. An empty catalog is refused: it would answer `UNKNOWN_ITEM` to every claim.
    public static func items(_ text: String, file: String = "catalog.csv") throws -> [CatalogItem] {
        let table = try CSVTable(text, file: file, required: requiredColumns, optional: optionalColumns)
        var lines: [String: Int] = [:]
        let items = try table.records.map { record in
            let code = try record.upperCode("code", length: 20)
            let name = try record.text("name", length: 100)
            let itemClass = try record.enumeration("class", as: ItemClass.self)
            let unit = try record.text("unit", length: 10)
            let limit = try record.integer("price_limit_fen", in: 0...Pricing.maxPrice)
            let bp = try record.integer("first_selfpay_bp", in: 0...10_000)
            guard itemClass == .b || bp == 0 else {
                throw record.error("first_selfpay_bp must be 0 for class \(itemClass.rawValue) (only class B has a first self-paid share)")
            }
            let traced = try record.flag("traced")
            if let first = lines.updateValue(record.line, forKey: code) {
                throw record.error("duplicate code `\(code)` (first on line \(first))")
            }
            return CatalogItem(code: code, name: name, itemClass: itemClass, unit: unit, priceLimit: limit,
                               firstSelfPayBP: bp, traced: traced)
        }
        guard !items.isEmpty else {
            throw ReferenceFileError(file: file, line: 1, message: "the catalog has no items: a version is the whole catalog")
        }
        return items
    }
}
