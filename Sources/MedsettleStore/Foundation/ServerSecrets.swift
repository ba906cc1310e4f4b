import Crypto
import Foundation
import MedsettleCore

/// The keys the engine derives from its one server secret (32+ random bytes from configuration).
///
/// - PIN hashes: HMAC-SHA256(pin key, salt ‖ card_no ‖ pin). A 6-digit PIN has only 10⁶ values, so
///   a salt alone would not protect it; the key, which never leaves the server, does.
/// - Terminal keys: sealed at rest with AES-256-GCM under the sealing key; the engine must read them
///   back to verify a sign-in MAC, so they cannot be one-way hashed.
/// Losing the secret makes every PIN and terminal key unusable: back it up with the database.
public struct ServerSecrets: Sendable {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    // Raw bytes (SymmetricKey is not Sendable); wrapped at each use.
    let pinKey: [UInt8]
    let sealingKey: [UInt8]
    /// Signs e-card payment QR tokens unless a QR secret of its own is configured.
    public let qrKey: [UInt8]

    public init(secret: [UInt8]) throws {
        guard secret.count >= 32 else {
            throw Invalid(description: "the server secret must be at least 32 bytes (64 hex digits)")
        }
        let master = SymmetricKey(data: secret)
        func derive(_ label: String) -> [UInt8] {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: master, salt: Array("medsettle".utf8),
                                   info: Array(label.utf8), outputByteCount: 32).withUnsafeBytes { Array($0) }
        }
        pinKey = derive("pin-hash v1")
        sealingKey = derive("terminal-key-seal v1")
        qrKey = derive("qr-token v1")
    }

    /// Parses the secret from hex (64 or more hex digits; whitespace around it is ignored).
    public init(hex: String) throws {
        guard let bytes = decodeHex(hex.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Invalid(description: "the server secret is not hex")
        }
        try self.init(secret: bytes)
    }

    /// A fresh random secret, as hex, for a new installation.
    public static func generateHex() -> String {
        encodeHex(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    public func pinHash(salt: [UInt8], cardNo: String, pin: String) -> [UInt8] {
        var message = salt
        message.append(contentsOf: cardNo.utf8)
        message.append(0)
        message.append(contentsOf: pin.utf8)
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: pinKey)))
    }

    /// Compares in time independent of where the first difference is.
    func pinMatches(_ pin: String, salt: [UInt8], cardNo: String, hash: [UInt8]) -> Bool {
        constantTimeEqual(pinHash(salt: salt, cardNo: cardNo, pin: pin), hash)
    }

    public func seal(terminalKey: [UInt8]) throws -> [UInt8] {
        guard let combined = try AES.GCM.seal(terminalKey, using: SymmetricKey(data: sealingKey)).combined else {
            throw Invalid(description: "cannot seal a terminal key")
        }
        return Array(combined)
    }

    func open(sealedTerminalKey: [UInt8]) throws -> [UInt8] {
        let box = try AES.GCM.SealedBox(combined: sealedTerminalKey)
        return Array(try AES.GCM.open(box, using: SymmetricKey(data: sealingKey)))
    }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<a.count { difference |= a[i] ^ b[i] }
    return difference == 0
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}
