import MedsettleCore

/// An institutions file (`code,name,kind,level`): institutions to add or update (ADMIN.md "Setting up").
public enum InstitutionFile {
    public static let columns = ["code", "name", "kind", "level"]

    /// The institutions of `text`, in file order. Codes are unique and as the database keeps them
    /// (1–16 of A-Z 0-9, a name of 1–128 characters); a hospital has level 1–3 and anything else
    /// level 0, because the level is what selects a policy row and a mismatch would misprice.
    public static func institutions(_ text: String, file: String = "institutions.csv") throws -> [InstitutionRecord] {
        let table = try CSVTable(text, file: file, required: columns)
        var lines: [String: Int] = [:]
        let institutions = try table.records.map { record in
            let code = try record.upperCode("code", length: 16)
            let name = try record.text("name", length: 128)
            let kind = try record.enumeration("kind", as: TerminalKind.self)
            let level = Int(try record.integer("level", in: 0...3))
            guard (kind == .hospital ? 1...3 : 0...0).contains(level) else {
                throw record.error("level \(level) does not fit kind \(kind.rawValue) (hospital 1–3, others 0)")
            }
            if let first = lines.updateValue(record.line, forKey: code) {
                throw record.error("duplicate code `\(code)` (first on line \(first))")
            }
            return InstitutionRecord(code: code, name: name, kind: kind, level: level)
        }
        guard !institutions.isEmpty else { throw ReferenceFileError(file: file, line: 1, message: "the file has no institutions") }
        return institutions
    }
}
