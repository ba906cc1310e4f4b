// Fuzz target `csv`: arbitrary bytes as a reference file through what an import does with it:
// `UTF8Text.decode`, then `CSVTable` (RFC 4180 by yaslab/CSV.swift, the header, the records and
// their line numbers) and every file reader of `Sources/ReferenceFiles` — catalog, institutions,
// terminals, policy and benefits.
@testable import ReferenceFiles
import MedsettleCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(input(data, size))
    let lfLines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    let text: String
    do {
        text = try UTF8Text.decode(bytes, file: "f.csv")
    } catch {
        let refused = refusal(error, file: "f.csv", lines: lfLines)
        check(String(validating: bytes, as: UTF8.self) == nil, "valid UTF-8 refused: \(refused)")
        return 0
    }
    check(text.utf8.elementsEqual(bytes), "decoding changed the bytes")
    // A line ends at CR, LF or CR LF (the reader's record ends); a refusal names one of them.
    let lines = CSVTable.lineBreaks(in: text) + 1

    checkTable(text, lines: lines)
    // Each reader parses the whole file, and the CSV parser is the slow part: run the readers whose
    // files begin as this one does (the first column's name), the catalog's when none does.
    let first = text.prefix { $0 != "," && $0 != "\r" && $0 != "\n" }
    let institutionsOrCatalog = first.hasSuffix("code")
    if institutionsOrCatalog || !["terminal", "insurance"].contains(where: first.hasSuffix), let items = parsed({ try CatalogFile.items(text, file: "catalog.csv") }, file: "catalog.csv", lines: lines) {
        checkCatalog(items)
    }
    if institutionsOrCatalog, let institutions = parsed({ try InstitutionFile.institutions(text, file: "institutions.csv") }, file: "institutions.csv", lines: lines) {
        check(Set(institutions.map(\.code)).count == institutions.count, "an institution code twice")
    }
    if first.hasSuffix("terminal"), let terminals = parsed({ try TerminalFile.terminals(text, institutions: ["H001", "P001"], file: "terminals.csv") },
                              file: "terminals.csv", lines: lines) {
        check(Set(terminals.map(\.terminal)).count == terminals.count, "a terminal twice")
        check(terminals.allSatisfy { $0.key.count == 32 && ["H001", "P001"].contains($0.institution) }, "a bad terminal row accepted")
    }
    if first.hasSuffix("insurance") {
        _ = parsed({ try PolicyFile.policies(text, file: "policy.csv") }, file: "policy.csv", lines: lines)
        _ = parsed({ try PolicyFile.benefits(text, file: "benefits.csv") }, file: "benefits.csv", lines: lines)
    }
    return 0
}

/// The table with the catalog's columns: what a table that reads must look like.
private func checkTable(_ text: String, lines: Int) {
    guard let table = parsed({ try CSVTable(text, file: "t.csv", required: CatalogFile.requiredColumns,
                                            optional: CatalogFile.optionalColumns) }, file: "t.csv", lines: lines) else { return }
    for column in CatalogFile.requiredColumns { check(table.columns[column] != nil, "required column \(column) missing") }
    let width = table.columns.count
    check(Set(table.columns.values) == Set(0..<width), "column positions \(table.columns)")
    var previous = 1
    for record in table.records {
        check(record.line > previous && record.line <= lines, "record line \(record.line) after \(previous) of \(lines)")
        check(record.fields.count == width, "\(record.fields.count) fields under \(width) columns")
        previous = record.line
    }
}

/// A successful catalog: valid items, and its CSV, quoted and written back, reads the same.
private func checkCatalog(_ items: [CatalogItem]) {
    check(!items.isEmpty, "an empty catalog accepted")
    check(Set(items.map(\.code)).count == items.count, "a code twice")
    for item in items {
        check((1...20).contains(item.code.utf8.count)
              && item.code.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }, "bad code \(item.code)")
        check(item.itemClass == .b || item.firstSelfPayBP == 0, "a first self-paid share on class \(item.itemClass)")
        check((0...10_000).contains(item.firstSelfPayBP) && item.priceLimit >= 0, "values out of range")
        for text in [item.name, item.unit] {
            check(!text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, "control character in \(text.debugDescription)")
        }
    }
    var csv = CatalogFile.requiredColumns.joined(separator: ",") + ",traced\r\n"
    for item in items {
        let fields = [item.code, item.name, item.itemClass.rawValue, item.unit, String(item.priceLimit), String(item.firstSelfPayBP),
                      item.traced ? "1" : "0"]
        csv += fields.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",") + "\r\n"
    }
    guard let again = try? CatalogFile.items(csv) else { fatalError("fuzz invariant: the catalog written back is refused: \(csv.debugDescription)") }
    check(again == items, "the catalog written back reads differently")
}

/// Runs a reader: its result, or nil after checking that it refused with a `ReferenceFileError`
/// naming the file and a line of it.
private func parsed<T>(_ read: () throws -> T, file: String, lines: Int) -> T? {
    do {
        return try read()
    } catch {
        _ = refusal(error, file: file, lines: lines)
        return nil
    }
}

/// Checks a refusal: a `ReferenceFileError` naming `file`, a line in 1…`lines` and a message.
@discardableResult
private func refusal(_ error: any Error, file: String, lines: Int) -> ReferenceFileError {
    guard let refused = error as? ReferenceFileError else { fatalError("fuzz invariant: not a ReferenceFileError: \(error)") }
    check(refused.file == file, "refusal names \(refused.file), not \(file)")
    check((1...lines).contains(refused.line), "refusal on line \(refused.line) of \(lines): \(refused.message)")
    check(!refused.message.isEmpty, "empty message")
    return refused
}
