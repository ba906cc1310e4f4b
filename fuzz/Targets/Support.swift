// Shared by every fuzz target (compiled together with one target file; see fuzz/run.sh).
//
// An invariant that does not hold stops the run through `fatalError`, which libFuzzer records as a
// crash: the input is written to fuzz/.work/artifacts/<target>/crash-<sha1>.
@testable import MSLP
import MedsettleCore

/// Stops the run when `condition` is false. `fatalError` prints its message in every build mode.
@inline(never)
func check(_ condition: Bool, _ message: @autoclosure () -> String,
           file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("fuzz invariant: \(message())", file: file, line: line) }
}

/// The input as libFuzzer hands it over. libFuzzer allocates exactly `size` bytes, so AddressSanitizer
/// catches a read one byte past the end: the parsers are given this buffer, not a copy.
func input(_ data: UnsafePointer<UInt8>, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: size == 0 ? nil : data, count: size)
}

/// 1–32 of `A-Z a-z 0-9 . _ -` (tags, traces).
func isTag(_ s: String) -> Bool {
    (1...32).contains(s.utf8.count) && s.utf8.allSatisfy(ByteClass.isTagByte)
}

/// 1–32 of `a-z 0-9 _`.
func isKey(_ s: String) -> Bool {
    (1...FieldScanner.maxKeyLength).contains(s.utf8.count) && s.utf8.allSatisfy(ByteClass.isKeyByte)
}

/// What every field list read off the wire satisfies (requests and replies share `FieldScanner`).
func checkFields(_ fields: [Field]) {
    check(fields.count <= FieldScanner.maxFields, "\(fields.count) fields")
    var seen = Set<String>()
    for field in fields {
        check(isKey(field.key), "bad key \(field.key.debugDescription)")
        check(seen.insert(field.key).inserted, "duplicate key \(field.key)")
    }
}

/// The reply a failure is answered with is one line, and the client-side parser reads it back.
func checkReplyRoundTrip(_ failure: ProtocolFailure) {
    let line = failure.reply.encoded()
    check(line.last == 0x0A, "reply without LF")
    check(!line.dropLast().contains { $0 == 0x0A || $0 == 0x0D }, "reply with a line break inside")
    guard let read = ReplyLine.parse(line) else {
        fatalError("fuzz invariant: own reply unreadable: \(String(decoding: line, as: UTF8.self).debugDescription)")
    }
    check(read.tag == failure.tag && read.code == failure.code.rawValue && !read.ok,
          "reply head changed: \(read)")
    check(read.fields == [Field("msg", failure.message)], "reply fields changed: \(read.fields)")
    check(read.message!.utf8.elementsEqual(failure.message.utf8), "msg bytes changed")
}

/// What a successful or failed `ItemList.parse` of `bytes` must satisfy.
func checkItems(_ result: Result<[ClaimLine], ValueError>, of bytes: UnsafeBufferPointer<UInt8>) {
    let separators = bytes.reduce(0) { $0 + ($1 == 0x3B ? 1 : 0) }
    switch result {
    case .success(let lines):
        check((1...ItemList.maxLines).contains(lines.count), "\(lines.count) lines")
        check(lines.count == separators + 1, "\(lines.count) lines for \(separators) separators")
        for line in lines {
            check((1...ItemList.maxCodeLength).contains(line.code.utf8.count)
                  && line.code.utf8.allSatisfy(ByteClass.isItemCodeByte), "bad code \(line.code.debugDescription)")
            check(line.quantity.milli > 0 && line.quantity.milli <= 9_999_999_999, "quantity \(line.quantity.milli)")
            check(line.price >= 0 && line.price <= 9_999_999_999, "price \(line.price)")
            // Codes: 20 ASCII digits each, only on a whole quantity.
            for code in line.traceCodes {
                check(code.digits.utf8.count == TraceCode.length && code.digits.utf8.allSatisfy(ByteClass.isDigit),
                      "bad traceability code \(code.digits.debugDescription)")
            }
            check(line.traceCodes.isEmpty || line.quantity.milli % 1000 == 0, "codes on a fractional quantity")
        }
        // No code twice in one list.
        let codes = lines.flatMap(\.traceCodes)
        check(Set(codes).count == codes.count, "a traceability code twice")
        checkTraceCodes(lines)
        // The canonical spelling parses back to the same lines and is never longer than the input.
        let canonical = ItemList.encode(lines)
        check(canonical.utf8.count <= bytes.count, "canonical form longer than the input")
        guard case .success(let again) = ItemList.parse(canonical) else {
            fatalError("fuzz invariant: canonical form refused: \(canonical)")
        }
        check(again == lines, "round trip changed the lines: \(canonical)")
    case .failure(let error):
        check(!error.message.isEmpty, "empty message")
        switch error.code {
        case .tooManyItems: check(separators >= ItemList.maxLines, "TOO_MANY_ITEMS with \(separators + 1) lines")
        case .badRequest: check(separators < ItemList.maxLines, "BAD_REQUEST with \(separators + 1) lines")
        default: check(false, "unexpected code \(error.code)")
        }
    }
}

/// Runs every value-syntax helper the server applies to request values on `value`, whatever its
/// key (they are pure and cheap), and checks what an accepted value must look like.
func checkValueHelpers(_ value: String) {
    let u = value.utf8
    if case .success(let t) = ValueSyntax.trace(value) { check(isTag(t), "trace \(t)") }
    if case .success(let p) = ValueSyntax.pin(value) { check(p.utf8.count == 6, "pin \(p)") }
    if case .success(let c) = ValueSyntax.cardNumber(value) { check(c.utf8.count == 9, "card \(c)") }
    if case .success(let n) = ValueSyntax.amount(value) {
        check(n >= 0 && n < 1_000_000_000_000_000 && u.count <= ValueSyntax.maxAmountDigits, "amount \(n)")
        check(Int64(value) == n, "amount \(n) from \(value)")
    }
    if case .success(let n) = ValueSyntax.positiveAmount(value) { check(n > 0, "positive amount \(n)") }
    if case .success(let f) = ValueSyntax.flag(value, key: "use_account") { check(value == (f ? "1" : "0"), "flag") }
    if case .success(let d) = ValueSyntax.date(value) {
        check(d.yyyymmdd == value, "date \(value) reads as \(d)")
        check(BusinessDate(daysSinceEpoch: d.daysSinceEpoch) == d, "date \(value) does not survive days")
    }
    if case .success(let id) = ValueSyntax.idNo(value) { check(id.utf8.count == 18, "id_no \(id)") }
    if case .success(let bytes) = ValueSyntax.lowerHex(value, key: "mac", byteCount: 32) {
        check(encodeHex(bytes) == value, "mac \(value)")
    }
    if case .success(let t) = ValueSyntax.text(value, key: "name") {
        check((1...64).contains(t.unicodeScalars.count), "name of \(t.unicodeScalars.count) scalars")
    }
    _ = ValueSyntax.oneOf(value, key: "insurance", as: InsuranceType.self)
    _ = ValueSyntax.oneOf(value, key: "reason", allowed: ["lost", "damaged", "info"])
}

/// What the engine does with a parsed list's traceability codes: each splits into the two integers
/// the database keeps and comes back the same; they order as their digits do; the catalog's rule
/// (a traced item names one code per package, an untraced one none) agrees with the line; and the
/// first code already sold is the first in request order.
func checkTraceCodes(_ lines: [ClaimLine]) {
    let codes = lines.flatMap(\.traceCodes)
    for code in codes {
        check((0...99).contains(code.high) && (0...999_999_999_999_999_999).contains(code.low), "split of \(code) out of range")
        check(TraceCode(high: code.high, low: code.low) == code, "\(code) does not survive its split")
        check(TraceCode(code.digits) == code, "\(code) does not survive its digits")
    }
    for (a, b) in zip(codes, codes.dropFirst()) { check((a < b) == (a.digits < b.digits), "order of \(a) and \(b)") }
    let traced = CatalogItem(code: "T", name: "t", itemClass: .a, unit: "u", priceLimit: 0, firstSelfPayBP: 0, traced: true)
    let untraced = CatalogItem(code: "U", name: "u", itemClass: .a, unit: "u", priceLimit: 0, firstSelfPayBP: 0, traced: false)
    for line in lines {
        let packages = line.quantity.milli % 1000 == 0 ? line.quantity.milli / 1000 : -1
        let fits = !line.traceCodes.isEmpty && Int64(line.traceCodes.count) == packages
        check((TraceCodeRules.problem(of: line, for: traced) == nil) == fits, "traced rule disagrees on \(line)")
        check((TraceCodeRules.problem(of: line, for: untraced) == nil) == line.traceCodes.isEmpty, "untraced rule disagrees on \(line)")
    }
    // Every other code taken as sold: the first of them in request order is the one named.
    let sold = Set(codes.enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
    check(TraceCodeRules.firstSold(in: lines, sold: sold) == codes.first(where: sold.contains), "firstSold is not the first sold code")
}
