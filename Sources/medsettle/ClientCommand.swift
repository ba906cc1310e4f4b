import ArgumentParser
import Foundation
import MSLP
import MSLPChannel
import MedsettleCore
import NIOSSL

struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "An interactive MSLP terminal: signs in, then sends typed or piped request lines.",
        discussion: """
            Each input line is one request. The tag may be left out: `SETTLE trace=T1 card=… pin=… items=…` \
            is sent as `SETTLE c1 trace=T1 …`. Values are sent as typed, so write a space in a value as %20. \
            The server's replies are printed as they arrive. End with Ctrl-D or SIGNOUT.
            """
    )

    @Option(help: "Terminal id, e.g. P001-01.")
    var terminal: String

    @Option(help: "The terminal's 32-byte key as 64 hex digits.")
    var key: String

    @Option(help: "Server host.")
    var host: String = "127.0.0.1"

    @Option(help: "Server port.")
    var port: Int = 7411

    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        guard let keyBytes = decodeHex(key), keyBytes.count == 32 else {
            throw ValidationError("--key must be 64 hex digits (32 bytes)")
        }
        let interactive = isatty(STDIN_FILENO) != 0
        let terminal = self.terminal
        try await MSLPClient.withConnection(host: host, port: port, tls: try tls.context()) { connection in
            guard let greeting = connection.greeting else { return }
            print("< * HELLO proto=\(greeting.proto) challenge=\(greeting.challenge)")
            let mac = Greeting.hex(MAC.hmacSHA256(key: keyBytes, message: greeting.macMessage(terminal: terminal)))
            let signIn = "SIGNIN \(connection.freshTag()) terminal=\(terminal) mac=\(mac)"
            print("> \(signIn)")
            guard let signInReply = try await Self.exchange(signIn, connection) else { return }
            guard ReplyLine.parse(signInReply)?.ok == true else { return }
            while true {
                if interactive { print("> ", terminator: ""); fflush(nil) }
                guard let input = readLine(strippingNewline: true) else { break }
                let line = Self.withTag(input.trimmingCharacters(in: .whitespaces), tag: connection.freshTag())
                if line.isEmpty { continue }
                if !interactive { print("> \(line)") }
                guard try await Self.exchange(line, connection) != nil else { break }
            }
        }
    }

    /// Sends one line, prints the reply as received, and returns it (nil once the server closed).
    static func exchange(_ line: String, _ connection: MSLPConnection) async throws -> String? {
        try await connection.send(raw: Array((line + "\n").utf8))
        guard let reply = try await connection.readLine() else {
            print("connection closed by the server")
            return nil
        }
        let text = String(decoding: reply, as: UTF8.self)
        print("< \(text)")
        return text
    }

    /// Inserts `tag` after the verb when the line has none (its second word is a `key=value`).
    static func withTag(_ line: String, tag: String) -> String {
        let words = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard let verb = words.first, !verb.isEmpty else { return "" }
        if words.count == 1 { return "\(verb) \(tag)" }
        let rest = words[1]
        let second = rest.split(separator: " ", maxSplits: 1).first ?? ""
        return second.contains("=") ? "\(verb) \(tag) \(rest)" : line
    }
}

/// TLS for a client of the engine.
struct ClientTLSOptions: ParsableArguments {
    @Flag(help: "Speak TLS (implied by --tls-ca).")
    var tls = false

    @Option(help: ArgumentHelp("PEM CAs that sign the server's certificate (default: the system's).", valueName: "path"))
    var tlsCa: String?

    @Option(help: ArgumentHelp("PEM client certificate, for servers that require one.", valueName: "path"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "path"))
    var tlsKey: String?

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func context() throws -> NIOSSLContext? {
        guard tls || tlsCa != nil || tlsCert != nil else { return nil }
        return try MSLPClientTLS.context(caPath: tlsCa, certificatePath: tlsCert, keyPath: tlsKey)
    }
}
