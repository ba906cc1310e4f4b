import ArgumentParser
import Foundation
import LocalPostgres
import Logging
import MedsettleConfig
import MedsettleStore

struct DemoCommand: AsyncParsableCommand, SettingsCommand {
    static let settingScope = EngineConfiguration.scope
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the engine with the demo data set, on a private PostgreSQL unless DATABASE_URL is set.",
        discussion: discussion("""
            Without DATABASE_URL (or --database-url) it creates, or reuses, a PostgreSQL cluster under the \
            data directory (initdb and pg_ctl; as the 'postgres' user when run as root), migrates it, loads \
            the demo data set, serves MSLP (127.0.0.1:7411 unless --listen) and the operators' HTTP side \
            (127.0.0.1:7412 unless --admin-listen; off: --admin-listen off) until SIGINT or SIGTERM, and then \
            stops that PostgreSQL. It takes every setting `serve` takes. The server secret is kept in \
            DIR/secret.hex unless one is set (--secret-file, MEDSETTLE_SECRET_FILE, MEDSETTLE_SECRET).
            """, settings: settingScope)
    )

    @Option(help: ArgumentHelp("Directory for the private cluster and the demo secret.", valueName: "dir"))
    var dataDir: String = "/tmp/medsettle-demo"

    func run() async throws {
        let config = try usable { try EngineConfiguration(try resolvedSettings(), demo: true) }
        let log = try EngineLog.start(config)
        defer { log.close() }
        let logger = Logger(label: "medsettle.demo")
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        if let conflict = config.secret.conflict { logger.warning("\(conflict)") }
        let fallbackFile = Self.absolute(dataDir + "/secret.hex")
        let secrets = try config.secret.load(fallbackFile: fallbackFile)
        // The file every admin command can be pointed at (none when the secret came as hex).
        let secretFile: String? = switch config.secret.chosenKey {
        case nil: fallbackFile
        case "secret-file"?: config.secret.settings.string("secret-file").map(Self.absolute)
        default: nil
        }

        var cluster: LocalCluster?
        let conninfo: String
        if let url = config.databaseURL {
            conninfo = url
        } else {
            print("starting a private PostgreSQL in \(dataDir)/pg …")
            fflush(nil)
            let local = try LocalCluster.prepare(directory: dataDir + "/pg", durable: true)
            try local.start()
            cluster = local
            try DatabaseSetup.createDatabaseIfMissing(adminConninfo: local.conninfo(), name: "medsettle")
            conninfo = local.conninfo(database: "medsettle")
        }
        let clean: Bool
        do {
            try DatabaseSetup.prepare(conninfo: conninfo, secrets: secrets, loadReferenceData: true, demoPeople: true)
            clean = try await runEngine(config, conninfo: conninfo, secrets: secrets, log: log, logger: logger,
                                        onAdminListening: { listener, port in
                guard listener.routes == .all else { return }
                print(Self.adminBanner(host: listener.host, port: port))
                fflush(nil)
            }) { port in
                print(Self.banner(port: port, conninfo: conninfo, secretFile: secretFile))
                fflush(nil)
            }
        } catch {
            try? cluster?.stop()
            throw error
        }
        if let cluster {
            try cluster.stop()
            print("private PostgreSQL stopped (data kept in \(dataDir)/pg)")
        }
        if !clean { throw ExitCode(1) }
    }
    /// The operators' HTTP side, printed when it listens (it may start before or after MSLP).
    static func adminBanner(host: String, port: Int) -> String {
        let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        return """
            medsettle demo: operators' HTTP side on \(base) (off: --admin-listen off)
              console    \(base)/console/   (sign in with a token from `medsettle operator add NAME`, with the demo's exports)
              health     \(base)/healthz  \(base)/readyz
              metrics    \(base)/metrics
              admin API  \(base)/api/v1/   (docs/admin-api.yaml)
            """
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    static func banner(port: Int, conninfo: String, secretFile: String?) -> String {
        var text = """

            medsettle demo is serving MSLP/1 on 127.0.0.1:\(port)

            Demo cardholders (cards ACTIVE):
            """
        for person in Seeder.demoPeople {
            text += "\n  \(person.cardNo)  PIN \(person.pin)  \(person.insurance.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))"
            text += "  id_no \(person.idNo)  balance \(person.credit) fen  \(person.name)"
        }
        text += """


            Try a pharmacy settlement (terminal keys are in sql/seed/terminals.csv):
              medsettle client --port \(port) --terminal P001-01 --key ae57ce5cec99c2d4e56d1304ef77143110ec80c2a141b6fd666ddad0e60382ac
              > SETTLE trace=T1 card=H00000017 pin=246810 items=A001*2@1250;C001*1@3000

            Admin commands reach this database with:
              export DATABASE_URL='\(conninfo)'
              \(secretFile.map { "export MEDSETTLE_SECRET_FILE='\($0)'" } ?? "(and the server secret you gave in MEDSETTLE_SECRET)")
              medsettle terminal list
              medsettle card history H00000017
              medsettle operator add alice     # a token for the console

            Stop with Ctrl-C.
            """
        return text
    }
}
