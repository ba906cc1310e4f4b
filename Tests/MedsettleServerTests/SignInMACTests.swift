import Foundation
import MSLP
import MSLPChannel
import MedsettleCore
import Testing

/// docs/PROTOCOL.md's SIGNIN test vectors are what the engine computes and accepts: the block after
/// the `<!-- signin-vectors` marker is read from the document, so the document cannot drift from
/// `MAC`, the function the engine's sign-in check and the clients share.
@Suite struct SignInMACTests {
    struct Vector {
        let key: [UInt8]
        let challenge: String
        let terminal: String
        let mac: String
    }

    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/PROTOCOL.md").standardized

    /// The `key=… challenge=… terminal=… mac=…` lines of the fenced block after the marker.
    static func vectors() throws -> [Vector] {
        let text = try String(contentsOf: document, encoding: .utf8)
        guard let marker = text.range(of: "<!-- signin-vectors"),
              let open = text.range(of: "```\n", range: marker.upperBound..<text.endIndex),
              let close = text.range(of: "\n```", range: open.upperBound..<text.endIndex) else {
            throw VectorError("docs/PROTOCOL.md has no signin-vectors block")
        }
        return try text[open.upperBound..<close.lowerBound].split(separator: "\n").map { line in
            var fields: [String: String] = [:]
            for word in line.split(separator: " ") {
                guard let equals = word.firstIndex(of: "=") else { throw VectorError("not key=value: \(word)") }
                fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
            }
            guard let keyHex = fields["key"], let key = decodeHex(keyHex), key.count == 32,
                  let challenge = fields["challenge"], let terminal = fields["terminal"], let mac = fields["mac"] else {
                throw VectorError("a vector needs key (64 hex digits), challenge, terminal and mac: \(line)")
            }
            return Vector(key: key, challenge: challenge, terminal: terminal, mac: mac)
        }
    }

    @Test func theDocumentsVectorsAreTheEnginesMacs() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count >= 3)
        for vector in vectors {
            // A greeting's challenge: 32 lower-case hex digits, as the engine sends it.
            #expect(Greeting.parse(Array("* HELLO proto=MSLP/1 challenge=\(vector.challenge)".utf8)) != nil, "\(vector.challenge)")
            #expect(Greeting.hex(MAC.signIn(key: vector.key, challenge: vector.challenge, terminal: vector.terminal)) == vector.mac)
            let mac = try #require(decodeHex(vector.mac))
            #expect(MAC.isValidSignIn(mac, key: vector.key, challenge: vector.challenge, terminal: vector.terminal))
            var flipped = mac
            flipped[31] ^= 1
            #expect(!MAC.isValidSignIn(flipped, key: vector.key, challenge: vector.challenge, terminal: vector.terminal))
            #expect(!MAC.isValidSignIn(mac, key: vector.key, challenge: vector.challenge.uppercased(), terminal: vector.terminal))
        }
    }

    struct VectorError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
