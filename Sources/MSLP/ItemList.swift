import MedsettleCore

/// The `items` value: claim lines `CODE*QTY@PRICE` joined by `;` (PROTOCOL.md "Verbs by kind"),
/// e.g. `A001*2@1250;C001*0.5@3000`, a traced item's line followed by its traceability codes,
/// `CODE*QTY@PRICE#TC1,TC2,…` (PROTOCOL.md revision 1.1).
///
/// - CODE: 1–20 of `A-Z a-z 0-9 _ -` (whether it is in the catalog is the pricing's decision).
/// - QTY: a positive decimal, 1–7 integer digits and optionally `.` with 1–3 fraction digits
///   (`2`, `0.5`, `1.250`; never `.5`, `5.`, `1.2345`, `0`, `1e3`), held exactly as thousandths.
///   On a line with codes it is written without a fraction (`2`, not `2.0`).
/// - PRICE: fen per unit, 1–10 ASCII digits, zero allowed.
/// - `#` and one or more codes of exactly 20 ASCII digits, separated by `,`; no code twice in the
///   whole list. Whether the item wants codes, and as many as QTY, is the catalog's decision.
///
/// No empty list, no empty line, no trailing `;`. More than `maxLines` lines is `TOO_MANY_ITEMS`,
/// decided by counting separators before any line is parsed, so a huge list is refused cheaply.
public enum ItemList {
    public static let maxLines = 200
    /// A catalog code is at most 20 characters (the catalog import's bound).
    public static let maxCodeLength = 20
    public static let maxQuantityIntegerDigits = 7
    public static let maxQuantityFractionDigits = 3
    public static let maxPriceDigits = 10

    private static let semicolon: UInt8 = 0x3B
    private static let star: UInt8 = 0x2A
    private static let at: UInt8 = 0x40
    private static let dot: UInt8 = 0x2E
    private static let hash: UInt8 = 0x23
    private static let comma: UInt8 = 0x2C

    public static func parse(_ text: String) -> Result<[ClaimLine], ValueError> {
        if let result = text.utf8.withContiguousStorageIfAvailable(parse(buffer:)) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(parse(buffer:))
    }

    public static func parse(bytes: [UInt8]) -> Result<[ClaimLine], ValueError> {
        bytes.withUnsafeBufferPointer(parse(buffer:))
    }

    public static func parse(buffer p: UnsafeBufferPointer<UInt8>) -> Result<[ClaimLine], ValueError> {
        if p.isEmpty { return bad("empty item list") }
        var count = 1
        for b in p where b == semicolon {
            count += 1
            if count > maxLines {
                return .failure(ValueError(code: .tooManyItems, message: "more than \(maxLines) item lines"))
            }
        }
        var lines = [ClaimLine]()
        lines.reserveCapacity(count)
        var start = 0
        var number = 1
        while start <= p.count {
            var end = start
            while end < p.count && p[end] != semicolon { end += 1 }
            switch parseLine(p, start..<end) {
            case .success(let line): lines.append(line)
            case .failure(let problem): return bad("item line \(number): \(problem.message)")
            }
            start = end + 1
            number += 1
        }
        if let repeated = firstRepeatedCode(lines) { return bad("traceability code \(repeated) appears twice") }
        return .success(lines)
    }

    /// A code named twice in the list, on one line or two.
    private static func firstRepeatedCode(_ lines: [ClaimLine]) -> TraceCode? {
        guard lines.contains(where: { !$0.traceCodes.isEmpty }) else { return nil }
        var seen = Set<TraceCode>()
        for line in lines {
            for code in line.traceCodes where !seen.insert(code).inserted { return code }
        }
        return nil
    }

    private struct LineProblem: Error { var message: String }

    private static func parseLine(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Result<ClaimLine, LineProblem> {
        if range.isEmpty { return .failure(LineProblem(message: "empty line")) }
        var i = range.lowerBound
        let end = range.upperBound

        // CODE
        while i < end && ByteClass.isItemCodeByte(p[i]) { i += 1 }
        let codeLength = i - range.lowerBound
        guard codeLength >= 1, codeLength <= maxCodeLength, i < end, p[i] == star else {
            return .failure(LineProblem(message: "bad code: 1-\(maxCodeLength) of A-Z a-z 0-9 _ - then '*'"))
        }
        let code = String(decoding: UnsafeBufferPointer(rebasing: p[range.lowerBound..<i]), as: UTF8.self)
        i += 1

        // QTY, as thousandths
        var whole: Int64 = 0
        var intDigits = 0
        while i < end && ByteClass.isDigit(p[i]) {
            whole = whole * 10 + Int64(p[i] &- 0x30)
            intDigits += 1
            i += 1
            if intDigits > maxQuantityIntegerDigits { return .failure(LineProblem(message: "quantity too large")) }
        }
        guard intDigits >= 1 else { return .failure(LineProblem(message: "bad quantity")) }
        var milli = whole * 1000
        let fractionWritten = i < end && p[i] == dot
        if fractionWritten {
            i += 1
            var scale: Int64 = 100
            var fracDigits = 0
            while i < end && ByteClass.isDigit(p[i]) {
                fracDigits += 1
                if fracDigits > maxQuantityFractionDigits {
                    return .failure(LineProblem(message: "quantity has more than 3 decimals"))
                }
                milli += Int64(p[i] &- 0x30) * scale
                scale /= 10
                i += 1
            }
            guard fracDigits >= 1 else { return .failure(LineProblem(message: "bad quantity")) }
        }
        guard i < end, p[i] == at else { return .failure(LineProblem(message: "bad quantity or missing '@'")) }
        guard milli > 0 else { return .failure(LineProblem(message: "quantity must be positive")) }
        i += 1

        // PRICE
        let priceStart = i
        var price: Int64 = 0
        while i < end && ByteClass.isDigit(p[i]) {
            price = price * 10 + Int64(p[i] &- 0x30)
            i += 1
            if i - priceStart > maxPriceDigits { return .failure(LineProblem(message: "price too large")) }
        }
        guard i > priceStart, i == end || p[i] == hash else { return .failure(LineProblem(message: "bad price: fen, digits only")) }
        if i == end { return .success(ClaimLine(code: code, quantity: Quantity(milli: milli), price: price)) }

        // '#' and the traceability codes
        guard !fractionWritten else {
            return .failure(LineProblem(message: "a line with traceability codes has a whole quantity without a fraction"))
        }
        i += 1
        var codes: [TraceCode] = []
        while true {
            let codeStart = i
            while i < end && ByteClass.isDigit(p[i]) && i - codeStart < TraceCode.length { i += 1 }
            guard i - codeStart == TraceCode.length, i == end || p[i] == comma,
                  let traceCode = TraceCode(String(decoding: UnsafeBufferPointer(rebasing: p[codeStart..<i]), as: UTF8.self)) else {
                return .failure(LineProblem(message: "bad traceability code: exactly \(TraceCode.length) digits, separated by ','"))
            }
            codes.append(traceCode)
            if i == end { break }
            i += 1
        }
        return .success(ClaimLine(code: code, quantity: Quantity(milli: milli), price: price, traceCodes: codes))
    }

    /// The canonical spelling of `lines` (quantities without trailing zeros), as clients send it.
    public static func encode(_ lines: [ClaimLine]) -> String {
        var out = ""
        for (index, line) in lines.enumerated() {
            if index > 0 { out += ";" }
            out += line.code
            out += "*"
            out += line.quantity.description
            out += "@"
            out += String(line.price)
            for (number, code) in line.traceCodes.enumerated() {
                out += number == 0 ? "#" : ","
                out += code.digits
            }
        }
        return out
    }

    private static func bad<T>(_ message: String) -> Result<T, ValueError> {
        .failure(ValueError(code: .badRequest, message: message))
    }
}
