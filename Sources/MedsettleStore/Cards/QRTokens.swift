import Crypto
import Foundation
import MedsettleCore

/// E-card payment QR tokens (RULES.md §3): opaque, URL-safe, made by the engine, naming a card,
/// expiring after a lifetime (60 s by default) and single use.
///
/// A token is base64url (no padding) of `version(1) ‖ nonce(12) ‖ AES-256-GCM(expires(8) ‖
/// card_no(9)) ‖ tag(16)`, 46 bytes. Encryption keeps the card number out of the picture a phone
/// shows, and the GCM tag makes the token unforgeable; the random nonce is the token's id for
/// single use (`qr_use`). Opening tries the current key, then the previous one, so the key can be
/// rotated without refusing tokens already on screen.
public struct QRTokens: Sendable {
    public static let defaultLifetime: Int64 = 60
    static let version: UInt8 = 1
    static let nonceLength = 12
    static let plaintextLength = 8 + 9
    static let tagLength = 16
    static let tokenLength = 1 + nonceLength + plaintextLength + tagLength

    /// Keys, current first.
    let keys: [[UInt8]]
    public let lifetime: Int64

    public init(keys: [[UInt8]], lifetime: Int64 = defaultLifetime) {
        precondition(!keys.isEmpty && keys.allSatisfy { $0.count >= 32 }, "QR keys are at least 32 bytes")
        precondition(lifetime > 0, "a QR token lives a positive time")
        self.keys = keys.map { Array($0.prefix(32)) }
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
        var plaintext: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { plaintext.append(UInt8(truncatingIfNeeded: expires >> Int64(shift))) }
        plaintext += Array(cardNo.utf8)
        precondition(plaintext.count == Self.plaintextLength, "card numbers are 9 ASCII characters")
        let nonce = randomBytes(Self.nonceLength)
        // Sealing can only fail for a malformed nonce or key, which the lengths above rule out.
        let box = try! AES.GCM.seal(plaintext, using: SymmetricKey(data: keys[0]),
                                    nonce: try! AES.GCM.Nonce(data: nonce), authenticating: [Self.version])
        let token = [Self.version] + nonce + Array(box.ciphertext) + Array(box.tag)
        return (Self.base64url(token), expires)
    }

    /// `QR_INVALID` for anything not made with one of our keys; `QR_EXPIRED` once past its expiry.
    public func verify(_ token: String, now: Int64) -> Result<Verified, ErrorCode> {
        guard let bytes = Self.fromBase64url(token), bytes.count == Self.tokenLength, bytes[0] == Self.version,
              let nonce = try? AES.GCM.Nonce(data: bytes[1...Self.nonceLength]) else { return .failure(.qrInvalid) }
        let ciphertext = bytes[(1 + Self.nonceLength)..<(1 + Self.nonceLength + Self.plaintextLength)]
        let tag = bytes[(1 + Self.nonceLength + Self.plaintextLength)...]
        guard let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag),
              let plaintext = keys.lazy.compactMap({ try? AES.GCM.open(box, using: SymmetricKey(data: $0), authenticating: [Self.version]) }).first
        else { return .failure(.qrInvalid) }
        let fields = Array(plaintext)
        let expires = fields[0..<8].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let cardNo = String(decoding: fields[8...], as: UTF8.self)
        guard now <= expires else { return .failure(.qrExpired) }
        return .success(Verified(cardNo: cardNo, tokenID: Array(bytes[1...Self.nonceLength]), expires: expires))
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
