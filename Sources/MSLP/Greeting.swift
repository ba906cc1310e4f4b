import MedsettleCore

/// The line the server sends on connect: `* HELLO proto=MSLP/1 challenge=<32 lowercase hex>`.
///
/// The challenge is 16 random bytes drawn by the server (randomness is I/O, so the caller supplies
/// them); the terminal signs `challenge + ":" + terminal` with its key for `SIGNIN`.
public struct Greeting: Sendable, Hashable {
    public static let protocolVersion = "MSLP/1"
    public static let challengeByteCount = 16

    public let proto: String
    /// The challenge as written on the wire: lower-case hex.
    public let challenge: String

    public init(challenge bytes: [UInt8]) {
        precondition(bytes.count == Greeting.challengeByteCount, "the challenge is 16 bytes")
        self.proto = Greeting.protocolVersion
        self.challenge = Greeting.hex(bytes)
    }

    private init(proto: String, challenge: String) {
        self.proto = proto
        self.challenge = challenge
    }

    /// The greeting line, LF included.
    public func encoded() -> [UInt8] {
        Array("* HELLO proto=\(proto) challenge=\(challenge)\n".utf8)
    }

    /// The bytes a terminal's `SIGNIN` mac signs: `challenge + ":" + terminal`.
    public func macMessage(terminal: String) -> [UInt8] {
        Greeting.signInMessage(challenge: challenge, terminal: terminal)
    }

    /// The bytes a `SIGNIN` mac signs for the greeting whose challenge (as sent) is `challenge`.
    public static func signInMessage(challenge: String, terminal: String) -> [UInt8] {
        Array("\(challenge):\(terminal)".utf8)
    }

    /// Reads a greeting line (a trailing CR/LF is tolerated); `nil` if it is not one.
    public static func parse(_ line: some Collection<UInt8>) -> Greeting? {
        // Line breaks are stripped as bytes: in a `String`, CR LF is one `Character`, which
        // `hasSuffix("\n")` and `hasSuffix("\r")` both miss (fuzz/: reply target).
        var bytes = Array(line)
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "*", parts[1] == "HELLO",
              parts[2].hasPrefix("proto="), parts[3].hasPrefix("challenge=")
        else { return nil }
        let challenge = String(parts[3].dropFirst("challenge=".count))
        guard challenge.utf8.count == challengeByteCount * 2,
              challenge.utf8.allSatisfy({ ByteClass.isDigit($0) || $0 &- 0x61 < 6 })
        else { return nil }
        return Greeting(proto: String(parts[2].dropFirst("proto=".count)), challenge: challenge)
    }

    /// Lower-case hex of `bytes` (the greeting's and `SIGNIN`'s spelling).
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        encodeHex(bytes)
    }
}
