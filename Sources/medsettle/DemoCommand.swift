import ArgumentParser
import Foundation
import LocalPostgres
import Logging
import MedsettleServer
import MedsettleStore
import PGClient

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the engine with the demo data set, on a private PostgreSQL unless DATABASE_URL is set.",
        discussion: """
            Without DATABASE_URL (or --database-url) it creates, or reuses, a PostgreSQL cluster under the \
            data directory (initdb and pg_ctl; as the 'postgres' user when run as root), migrates it, loads \
            the demo data set, serves MSLP on 127.0.0.1 until SIGINT or SIGTERM, and then stops that \
            PostgreSQL. The server secret is kept in DIR/secret.hex unless MEDSETTLE_SECRET is set.
            """
    )

    @Option(help: "MSLP port on 127.0.0.1.")
    var port: Int = 7411

    @Option(help: ArgumentHelp("Directory for the private cluster and the demo secret.", valueName: "dir"))
    var dataDir: String = "/tmp/medsettle-demo"

    @Option(name: .customLong("database-url"),
            help: ArgumentHelp("Use this PostgreSQL instead of a private one (default: $DATABASE_URL).", valueName: "url"))
    var databaseURL: String?

    @Option(help: "Database connections in the pool.")
    var poolSize: Int = 8

    @OptionGroup var qr: QROptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        try log.bootstrap()
        let logger = Logger(label: "medsettle.demo")
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let secrets = try SecretOptions.load(secretFile: nil, fallbackFile: dataDir + "/secret.hex")

        var cluster: LocalCluster?
        let conninfo: String
        let env = ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let url = databaseURL ?? env {
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
        do {
            try DatabaseSetup.prepare(conninfo: conninfo, secrets: secrets, loadReferenceData: true, demoPeople: true)
            let pool = PGPool(conninfo: conninfo, size: poolSize)
            let store = try Store(pool: pool, secrets: secrets, qrTokens: try qr.tokens(secrets))
            let server = try await MedsettleServer.start(configuration: ServerConfiguration(host: "127.0.0.1", port: port),
                                                         store: store)
            print(Self.banner(port: server.localPort, conninfo: conninfo))
            fflush(nil)
            let signal = await waitForTerminationSignal()
            logger.notice("stopping", metadata: ["signal": "\(signal)"])
            await server.drain(grace: .seconds(10))
            store.close()
            pool.close()
        } catch {
            try? cluster?.stop()
            throw error
        }
        if let cluster {
            try cluster.stop()
            print("private PostgreSQL stopped (data kept in \(dataDir)/pg)")
        }
    }

    static func banner(port: Int, conninfo: String) -> String {
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
              medsettle card history H00000017

            Stop with Ctrl-C.
            """
        return text
    }
}
