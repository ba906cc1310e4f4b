import ArgumentParser
import Foundation
import Logging
import MedsettleConfig

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
            --shutdown-grace; a second signal stops it at once. Run `medsettle migrate --reference-data` first \
            on a new database.
            """, settings: settingScope)
    )

    func run() async throws {
        let config = try usable { try EngineConfiguration(try resolvedSettings()) }
        LogSetting.bootstrap(config.logLevel)
        let logger = Logger(label: "medsettle")
        if let conflict = config.secret.conflict { logger.warning("\(conflict)") }
        if config.tls == nil, !EngineConfiguration.isLoopback(config.host) {
            logger.warning("plain TCP on a non-loopback address: PINs cross the network in the clear (--insecure)",
                           metadata: ["listen": "\(config.host):\(config.port)"])
        }
        let secrets = try config.secret.load()
        let tls = config.tls != nil
        let clean = try await runEngine(config, conninfo: config.databaseURL!, secrets: secrets, logger: logger) { port in
            logger.notice("medsettle serving", metadata: ["port": "\(port)", "tls": "\(tls)"])
        }
        if !clean { throw ExitCode(1) }
    }
}
