import CSV

/// A reference file read as RFC 4180 CSV (yaslab/CSV.swift does the quoting): the header's
/// columns found by name, and each record with the file line it starts on.
///
/// Refused here, whatever the format: no header, a header naming an unknown or a duplicate
/// column or missing a required one, and a record with more or fewer fields than the header.
/// A leading UTF-8 byte-order mark, CRLF line ends and empty lines (one at the end, say) are accepted.
struct CSVTable {
    let file: String
    /// Column name → position in every record.
    let columns: [String: Int]
    let records: [Record]

    /// One data record. Its fields are read by column name through the typed accessors below,
    /// each of which names the record's line when the value is refused.
    struct Record {
        let file: String
        /// The 1-based file line the record starts on.
        let line: Int
        let fields: [String]
        let columns: [String: Int]

        /// The raw field of a column; nil when an optional column is absent from the file.
        func field(_ column: String) -> String? {
            columns[column].map { fields[$0] }
        }

        func error(_ message: String) -> ReferenceFileError {
            ReferenceFileError(file: file, line: line, message: message)
        }
    }

    init(_ text: String, file: String, required: [String], optional: [String] = []) throws {
        self.file = file
        // The parser does not know the byte-order mark; left in, it would be part of the first column's name.
        var text = text
        if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }

        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: false)
        } catch {
            throw ReferenceFileError(file: file, line: 1, message: "cannot read the file as CSV: \(error)")
        }
        // (line, fields) of every record; the line count advances by the line breaks inside a
        // record's quoted fields plus the one that ends it. The reader ends a record at CR, LF or
        // CRLF, so those are what is counted.
        var raw: [(line: Int, fields: [String])] = []
        var line = 1
        while let fields = reader.next() {
            raw.append((line, fields))
            line += 1 + fields.reduce(0) { $0 + Self.lineBreaks(in: $1) }
        }
        if let error = reader.error {
            throw ReferenceFileError(file: file, line: line, message: "cannot read the file as CSV: \(error)")
        }
        raw.removeAll { $0.fields == [""] } // empty lines

        guard let header = raw.first else {
            throw ReferenceFileError(file: file, line: 1, message: "the file is empty: it needs a header row (\(required.joined(separator: ",")))")
        }
        var columns: [String: Int] = [:]
        let known = Set(required + optional)
        for (position, name) in header.fields.enumerated() {
            guard known.contains(name) else {
                throw ReferenceFileError(file: file, line: header.line,
                                         message: "unknown column `\(name)` (the columns are \((required + optional).joined(separator: ",")))")
            }
            guard columns.updateValue(position, forKey: name) == nil else {
                throw ReferenceFileError(file: file, line: header.line, message: "column `\(name)` appears twice")
            }
        }
        let missing = required.filter { columns[$0] == nil }
        guard missing.isEmpty else {
            throw ReferenceFileError(file: file, line: header.line,
                                     message: "missing column\(missing.count == 1 ? "" : "s") \(missing.map { "`\($0)`" }.joined(separator: ", "))")
        }
        self.columns = columns
        records = try raw.dropFirst().map { record in
            guard record.fields.count == header.fields.count else {
                throw ReferenceFileError(file: file, line: record.line,
                                         message: "expected \(header.fields.count) fields, found \(record.fields.count)")
            }
            return Record(file: file, line: record.line, fields: record.fields, columns: columns)
        }
    }

    /// CRLF, a lone CR and a lone LF each end one line.
    static func lineBreaks(in field: String) -> Int {
        var count = 0
        var afterCR = false
        for scalar in field.unicodeScalars {
            if scalar == "\r" { count += 1 }
            else if scalar == "\n" && !afterCR { count += 1 }
            afterCR = scalar == "\r"
        }
        return count
    }
}

// The typed values of the reference files. Each refusal names the column, the value and what it must be.
extension CSVTable.Record {
    /// `field(column)` of a required column.
    func value(_ column: String) -> String {
        guard let value = field(column) else { preconditionFailure("\(column) is a required column") }
        return value
    }

    /// 1–`length` of `A-Z 0-9`: the codes that go on the wire unescaped (`items=CODE*QTY@PRICE`).
    func upperCode(_ column: String, length: Int) throws -> String {
        let value = value(column)
        guard (1...length).contains(value.utf8.count), value.utf8.allSatisfy({ isUpperCaseLetterOrDigit($0) }) else {
            throw error("\(column) `\(value)` must be 1–\(length) of A-Z 0-9")
        }
        return value
    }

    /// 1–32 of `A-Z a-z 0-9 . _ -`: a terminal id as `SIGNIN terminal=` carries it.
    func identifier(_ column: String) throws -> String {
        let value = value(column)
        guard (1...32).contains(value.utf8.count),
              value.utf8.allSatisfy({ isUpperCaseLetterOrDigit($0) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D })
        else { throw error("\(column) `\(value)` must be 1–32 of A-Z a-z 0-9 . _ -") }
        return value
    }

    /// Free text of 1–`length` characters, counted as Unicode scalars (PostgreSQL's
    /// `char_length`), without control characters (a line break would split a report's
    /// `key=value` line) or surrounding spaces (which make two names look the same).
    func text(_ column: String, length: Int) throws -> String {
        let value = value(column)
        let scalars = value.unicodeScalars
        guard (1...length).contains(scalars.count) else {
            throw error("\(column) must be 1–\(length) characters, found \(scalars.count)")
        }
        guard !scalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw error("\(column) `\(value.debugDescription.dropFirst().dropLast())` must not hold control characters or line breaks")
        }
        guard scalars.first != " ", scalars.last != " " else {
            throw error("\(column) `\(value)` must not begin or end with a space")
        }
        return value
    }

    /// A non-negative integer within `range`, in ASCII digits only (no sign, no spaces, no grouping).
    func integer(_ column: String, in range: ClosedRange<Int64>) throws -> Int64 {
        let value = value(column)
        guard (1...18).contains(value.utf8.count), value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let number = Int64(value), range.contains(number)
        else { throw error("\(column) `\(value)` must be an integer in \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    /// One of an enumeration's raw values.
    func enumeration<E: RawRepresentable & CaseIterable>(_ column: String, as type: E.Type) throws -> E where E.RawValue == String {
        let value = value(column)
        guard let result = E(rawValue: value) else {
            throw error("\(column) `\(value)` must be one of \(E.allCases.map(\.rawValue).joined(separator: "/"))")
        }
        return result
    }

    /// A `0`/`1` flag; `absent` when the column is optional and not in the file.
    func flag(_ column: String, absent: Bool = false) throws -> Bool {
        switch field(column) {
        case nil: return absent
        case "0": return false
        case "1": return true
        case let value?: throw error("\(column) `\(value)` must be 0 or 1")
        }
    }
}

@inline(__always) private func isUpperCaseLetterOrDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
}
