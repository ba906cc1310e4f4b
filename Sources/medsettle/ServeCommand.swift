import ArgumentParser
import Foundation
import LoadData
import Logging
import MedsettleConfig
import MedsettleStore
import PGClient

struct ServeCommand: AsyncParsableCommand, SettingsCommand {
    static let settingScope = EngineConfiguration.scope
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve MSLP/1 on a TCP port against a migrated database.",
        discussion: discussion("""
            Every setting is a flag, an environment variable or a line of the config file (--config), in that \
            order of precedence; `medsettle config print` shows the effective values and docs/OPERATIONS.md lists \
            them all. A non-loopback listener needs --tls-cert/--tls-key, or --insecure. On SIGTERM or SIGINT it \
            stops listening, answers every request already read, closes the connections and exits 0 within \
            --shutdown-grace; a second signal stops it at once. Run `medsettle migrate` first on a new database \
            (docs/OPERATIONS.md: from an empty database to the first settlement). It refuses to start while a \
            terminal holds a published key (the demo data set's, or the load tests'), unless --demo-database \
            says this is a demo or load-test database.
            """, settings: settingScope)
    )

    func run() async throws {
        let config = try usable { try EngineConfiguration(try resolvedSettings()) }
        let log = try EngineLog.start(config)
        // Every line the engine logged is written before the process exits (SIGTERM's drain too).
        defer { log.close() }
        let logger = Logger(label: "medsettle")
        if let conflict = config.secret.conflict { logger.warning("\(conflict)") }
        if config.tls == nil, !EngineConfiguration.isLoopback(config.host) {
            logger.warning("plain TCP on a non-loopback address: PINs cross the network in the clear (--insecure)",
                           metadata: ["listen": "\(config.host):\(config.port)"])
        }
        let secrets = try config.secret.load()
        if !config.demoDatabase {
            try Self.refusePublishedKeys(conninfo: config.databaseURL!, secrets: secrets, logger: logger)
        }
        let tls = config.tls != nil
        let clean = try await runEngine(config, conninfo: config.databaseURL!, secrets: secrets, log: log, logger: logger) { port in
            logger.notice("medsettle serving", metadata: ["port": "\(port)", "tls": "\(tls)"])
        }
        if !clean { throw ExitCode(1) }
    }

    /// Refuses to serve a database where a terminal's key is published: anyone could sign in as it.
    static func refusePublishedKeys(conninfo: String, secrets: ServerSecrets, logger: Logger) throws {
        let demoKeys = try PublishedKeys.demoKeys()
        let finding = try PublishedKeys.find(try PGConnection(conninfo: conninfo), secrets: secrets) { terminal, key in
            demoKeys.contains(key) || key == LoadTestData.terminalKey(terminal)
        }
        if !finding.unreadable.isEmpty {
            logger.warning("terminal keys that do not open under this server secret: was the database set up with another one?",
                           metadata: ["terminals": "\(Self.listed(finding.unreadable))"])
        }
        guard finding.published.isEmpty else { throw PublishedKeysFound(terminals: finding.published) }
    }

    static func listed(_ terminals: [String]) -> String {
        terminals.count <= 12 ? terminals.joined(separator: ", ")
            : terminals.prefix(10).joined(separator: ", ") + " and \(terminals.count - 10) more"
    }

    struct PublishedKeysFound: Error, CustomStringConvertible {
        let terminals: [String]
        var description: String {
            """
            not serving: \(terminals.count == 1 ? "terminal" : "terminals") \(ServeCommand.listed(terminals)) \
            \(terminals.count == 1 ? "has a key" : "have keys") published with medsettle (the demo data set's or the \
            load tests'), so anyone can sign in as \(terminals.count == 1 ? "it" : "them"). Give each a new key with \
            `medsettle terminal rotate-key ID` (the new key is printed once; give it to the terminal); if this is a demo or load-test \
            database, start with --demo-database (MEDSETTLE_DEMO_DATABASE=true).
            """
        }
    }
}
