/// A deliberately small CSV reader for the four fixture formats. Their fields never contain
/// commas, quotes or line breaks, so a plain split is exact; anything unusual (wrong header,
/// wrong column count, a quote) is an error rather than a guess.
struct CSVReader {
    let file: String

    /// One data row: its 1-based line number and its fields.
    struct Row {
        let line: Int
        let fields: [String]
    }

    /// The data rows of `text`, after checking that the first non-empty line is exactly `header`.
    ///
    /// Lines end in LF (a CR before it is dropped, so files edited on Windows still load); empty
    /// lines are skipped, which also accepts a trailing newline; a leading UTF-8 BOM is ignored.
    /// The split is on Unicode scalars because Swift treats CR LF as one `Character`.
    func rows(_ text: String, header: [String]) throws -> [Row] {
        var result: [Row] = []
        var sawHeader = false
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, scalars) in lines.enumerated() {
            let lineNumber = index + 1
            var line = String(String.UnicodeScalarView(scalars))
            if line.unicodeScalars.last == "\r" { line.unicodeScalars.removeLast() }
            if index == 0, line.unicodeScalars.first == "\u{FEFF}" { line.unicodeScalars.removeFirst() }
            if line.isEmpty { continue }
            if line.contains("\"") {
                throw CSVError(file: file, line: lineNumber, message: "quoted fields are not supported")
            }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if !sawHeader {
                guard fields == header else {
                    throw CSVError(file: file, line: lineNumber,
                                   message: "header must be `\(header.joined(separator: ","))`")
                }
                sawHeader = true
                continue
            }
            guard fields.count == header.count else {
                throw CSVError(file: file, line: lineNumber,
                               message: "expected \(header.count) columns, found \(fields.count)")
            }
            result.append(Row(line: lineNumber, fields: fields))
        }
        guard sawHeader else { throw CSVError(file: file, line: 1, message: "missing header") }
        return result
    }

    func error(_ row: Row, _ message: String) -> CSVError {
        CSVError(file: file, line: row.line, message: message)
    }

    /// A column as an identifier: 1–32 of `A-Z a-z 0-9 . _ -` — the characters a code may have so
    /// that it survives the wire (`items=CODE*QTY@PRICE`, `terminal=`) unescaped.
    func code(_ row: Row, _ column: Int, _ name: String) throws -> String {
        let value = row.fields[column]
        guard (1...32).contains(value.utf8.count),
              value.utf8.allSatisfy({ isASCIIAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else { throw error(row, "\(name) `\(value)` must be 1–32 of A-Z a-z 0-9 . _ -") }
        return value
    }

    /// A column of free text: non-empty, no control characters, no surrounding spaces.
    func text(_ row: Row, _ column: Int, _ name: String) throws -> String {
        let value = row.fields[column]
        guard !value.isEmpty,
              !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
              value.first != " ", value.last != " "
        else { throw error(row, "\(name) must be non-empty text without control characters or surrounding spaces") }
        return value
    }

    /// A column as a non-negative integer within `range`: ASCII digits only (no sign, no spaces).
    func integer(_ row: Row, _ column: Int, _ name: String, in range: ClosedRange<Int64>) throws -> Int64 {
        let value = row.fields[column]
        guard (1...18).contains(value.utf8.count), value.utf8.allSatisfy(isASCIIDigit),
              let number = Int64(value), range.contains(number)
        else { throw error(row, "\(name) `\(value)` must be an integer in \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    /// A column that must be one of an enumeration's raw values.
    func enumeration<E: RawRepresentable & CaseIterable>(_ row: Row, _ column: Int, _ name: String, as type: E.Type) throws -> E
    where E.RawValue == String {
        let value = row.fields[column]
        guard let result = E(rawValue: value) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: "/")
            throw error(row, "\(name) `\(value)` must be one of \(allowed)")
        }
        return result
    }

    /// A `0`/`1` flag column.
    func flag(_ row: Row, _ column: Int, _ name: String) throws -> Bool {
        switch row.fields[column] {
        case "0": return false
        case "1": return true
        default: throw error(row, "\(name) `\(row.fields[column])` must be 0 or 1")
        }
    }
}

@inline(__always) func isASCIIDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

@inline(__always) func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
    isASCIIDigit(byte) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
}
