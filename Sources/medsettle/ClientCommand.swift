import ArgumentParser
import Foundation
import MedsettleConfig
import MSLP
import MSLPChannel
import MedsettleCore
import NIOSSL

struct ClientCommand: AsyncParsableCommand, SettingsCommand {
    static let settingScope: SettingScope = .client
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "An interactive MSLP terminal: signs in, then sends typed or piped request lines.",
        discussion: discussion("""
            Each input line is one request. The tag may be left out: `SETTLE trace=T1 card=… pin=… items=…` \
            is sent as `SETTLE c1 trace=T1 …`. Values are sent as typed, so write a space in a value as %20. \
            The server's replies are printed as they arrive. End with Ctrl-D or SIGNOUT.

            The terminal's key comes from --key-file PATH (or MEDSETTLE_TERMINAL_KEY_FILE), a file \
            of 64 hex digits only its user can read, or from MEDSETTLE_TERMINAL_KEY. --key HEX is for \
            trials with the demo's published keys: a command line is visible to every user of the machine.
            """, settings: settingScope)
    )

    func run() async throws {
        let settings = try resolvedSettings()
        let (host, port, tls) = try usable {
            (settings.string("host")!, try settings.integer("port", in: 1...65535), try ClientTLS.context(settings))
        }
        guard let terminal = settings.string("terminal") else { throw ValidationError("no terminal: pass --terminal or set MEDSETTLE_TERMINAL") }
        let keyBytes = try TerminalKeySetting(settings: settings).load()
        let interactive = isatty(STDIN_FILENO) != 0
        try await MSLPClient.withConnection(host: host, port: port, tls: tls) { connection in
            guard let greeting = connection.greeting else { return }
            print("< * HELLO proto=\(greeting.proto) challenge=\(greeting.challenge)")
            let mac = Greeting.hex(MAC.signIn(key: keyBytes, challenge: greeting.challenge, terminal: terminal))
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

/// TLS for a client of the engine, from the client settings.
enum ClientTLS {
    static func context(_ settings: ResolvedSettings) throws -> NIOSSLContext? {
        let ca = settings.string("tls-ca"), cert = settings.string("client-cert"), key = settings.string("client-key")
        guard (cert == nil) == (key == nil) else { throw SettingError("client-cert and client-key go together") }
        guard try settings.bool("tls") || ca != nil || cert != nil else { return nil }
        return try MSLPClientTLS.context(caPath: ca, certificatePath: cert, keyPath: key)
    }
}
