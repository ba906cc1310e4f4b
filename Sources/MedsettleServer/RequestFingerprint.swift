import Crypto
import MSLP

/// What makes two traced requests "the same content" (RULES.md §5 idempotency): SHA-256 over the
/// verb and every field except the tag and the credentials' secrets.
///
/// `pin` and `qr` are left out: a repeat must be recognised even if the holder's PIN or QR has
/// changed since, and a digest over a 6-digit PIN would let anyone holding the table recover it.
/// Fields are taken in key order, length-prefixed, so no two different requests collide by layout.
enum RequestFingerprint {
    static let excludedKeys: Set<String> = ["pin", "qr"]

    static func of(_ request: Request) -> [UInt8] {
        var hasher = SHA256()
        append(request.verb.rawValue, to: &hasher)
        for field in request.fields.sorted(by: { $0.key < $1.key }) where !excludedKeys.contains(field.key) {
            append(field.key, to: &hasher)
            append(field.value, to: &hasher)
        }
        return Array(hasher.finalize())
    }

    private static func append(_ text: String, to hasher: inout SHA256) {
        let bytes = Array(text.utf8)
        let length = UInt32(bytes.count)
        hasher.update(data: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        hasher.update(data: bytes)
    }
}
