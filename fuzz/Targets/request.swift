// Fuzz target `request`: one request line (without its LF, as the framing hands it up) through
// `RequestParser.parse`, then everything the server does with a parsed line before any business
// logic: `validate(kind:)` for every terminal kind, the value-syntax helpers, the item list.
@testable import MSLP
import MedsettleCore

private let kinds: [TerminalKind?] = [nil] + TerminalKind.allCases.map(Optional.some)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = input(data, size)
    let result = RequestParser.parse(buffer: line)
    check(RequestParser.parse(Array(line)) == result, "the [UInt8] entry point disagrees")

    // The line's second space-separated token, which is the tag whenever one is echoed.
    let tokens = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)

    switch result {
    case .empty:
        check(size == 0, "non-empty line read as empty")

    case .failure(let failure):
        check(size > 0, "empty line refused")
        check(failure.code == .badRequest || failure.code == .unknownVerb, "code \(failure.code)")
        check(!failure.message.isEmpty, "empty message")
        if failure.tag != "*" {
            check(isTag(failure.tag), "bad tag echoed: \(failure.tag.debugDescription)")
            check(tokens.count >= 2 && tokens[1].elementsEqual(failure.tag.utf8), "echoed tag is not the line's")
        }
        checkReplyRoundTrip(failure)

    case .request(let request):
        check(isTag(request.tag), "bad tag \(request.tag.debugDescription)")
        check(tokens.count >= 2 && tokens[1].elementsEqual(request.tag.utf8), "tag is not the line's second token")
        check(tokens[0].count == request.verb.rawValue.utf8.count
              && zip(tokens[0], request.verb.rawValue.utf8).allSatisfy { $0 & 0xDF == $1 },
              "verb \(request.verb) is not the line's first word")
        checkFields(request.fields)

        // Encoding the request gives one line that parses back to the same request, byte for byte.
        var encoded = request.encoded()
        check(encoded.last == 0x0A, "encoded request without LF")
        encoded.removeLast()
        check(!encoded.contains { $0 < 0x20 || $0 == 0x7F }, "control byte in an encoded request")
        guard case .request(let again) = RequestParser.parse(encoded) else {
            fatalError("fuzz invariant: re-encoded request refused: \(String(decoding: encoded, as: UTF8.self).debugDescription)")
        }
        check(again == request, "round trip changed the request")
        check(zip(again.fields, request.fields).allSatisfy { $0.value.utf8.elementsEqual($1.value.utf8) },
              "round trip changed a value's bytes")

        // The schema check, for every kind (and none).
        for kind in kinds {
            if let failure = request.validate(kind: kind) {
                check(failure.tag == request.tag && failure.code == .badRequest && !failure.message.isEmpty,
                      "validate failure \(failure)")
                checkReplyRoundTrip(failure)
            } else {
                let fitting = request.verb.schema.forms.filter { $0.applies(to: kind) && $0.problem(with: request.fields) == nil }
                check(!fitting.isEmpty, "validate passed but no form fits")
                for field in request.fields {
                    check(fitting.contains { $0.accepts(field.key) }, "validate passed an unknown key \(field.key)")
                }
                if fitting.contains(where: \.takesCred) {
                    check(request.credential != nil, "a cred form passed without a credential")
                    check(!(request.value("qr") != nil && request.value("card") != nil), "both qr and card passed")
                }
            }
        }
        _ = request.verb.allowedKinds

        for field in request.fields {
            checkValueHelpers(field.value)
            if field.key == "items" {
                var value = field.value
                let result = ItemList.parse(value)
                value.withUTF8 { checkItems(result, of: $0) }
            }
        }
    }
    return 0
}
