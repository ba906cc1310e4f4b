import Crypto
import Foundation
import MedsettleCore

/// E-card payment QR tokens (RULES.md §3): opaque, URL-safe, signed by the engine, naming a card,
/// expiring after a lifetime (60 s by default) and single use.
///
/// A token is base64url (no padding) of `version(1) ‖ nonce(16) ‖ expires(8, big-endian unix
/// seconds) ‖ card_no(9)` followed by the first 16 bytes of HMAC-SHA256 over those 34 bytes. The
/// nonce identifies the token for single use (`qr_use`). Verification tries the current signing key
/// and then the previous one, so the key can be rotated without refusing tokens already shown.
public struct QRTokens: Sendable {
    public static let defaultLifetime: Int64 = 60
    static let version: UInt8 = 1
    static let payloadLength = 1 + 16 + 8 + 9
    static let tagLength = 16

    /// Signing keys, current first.
    let keys: [[UInt8]]
    public let lifetime: Int64

    public init(keys: [[UInt8]], lifetime: Int64 = defaultLifetime) {
        precondition(!keys.isEmpty && keys.allSatisfy { $0.count >= 32 }, "QR keys are at least 32 bytes")
        precondition(lifetime > 0, "a QR token lives a positive time")
        self.keys = keys
        self.lifetime = lifetime
    }

    /// A verified token: the card it names, its single-use id and its expiry.
    public struct Verified: Sendable, Hashable {
        public let cardNo: String
        public let tokenID: [UInt8]
        public let expires: Int64
    }

    public func issue(cardNo: String, now: Int64) -> (token: String, expires: Int64) {
        let expires = now + lifetime
        var payload: [UInt8] = [Self.version]
        payload += randomBytes(16)
        for shift in stride(from: 56, through: 0, by: -8) { payload.append(UInt8(truncatingIfNeeded: expires >> Int64(shift))) }
        payload += Array(cardNo.utf8)
        precondition(payload.count == Self.payloadLength, "card numbers are 9 ASCII characters")
        let token = payload + Self.tag(payload, key: keys[0])
        return (Self.base64url(token), expires)
    }

    /// `QR_INVALID` for anything not signed by one of our keys; `QR_EXPIRED` once past its expiry.
    public func verify(_ token: String, now: Int64) -> Result<Verified, ErrorCode> {
        guard let bytes = Self.fromBase64url(token), bytes.count == Self.payloadLength + Self.tagLength,
              bytes[0] == Self.version else { return .failure(.qrInvalid) }
        let payload = Array(bytes[0..<Self.payloadLength])
        let given = Array(bytes[Self.payloadLength...])
        guard keys.contains(where: { constantTimeEqual(Self.tag(payload, key: $0), given) }) else {
            return .failure(.qrInvalid)
        }
        let expires = payload[17..<25].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let cardNo = String(decoding: payload[25...], as: UTF8.self)
        guard now <= expires else { return .failure(.qrExpired) }
        return .success(Verified(cardNo: cardNo, tokenID: Array(payload[1..<17]), expires: expires))
    }

    static func tag(_ payload: [UInt8], key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: key)).prefix(tagLength))
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func fromBase64url(_ text: String) -> [UInt8]? {
        guard text.utf8.count <= 128,
              text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F })
        else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { Array($0) }
    }
}
