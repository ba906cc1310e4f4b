import ArgumentParser
import Logging
import MedsettleServer
import MedsettleStore
import PGClient

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve MSLP/1 on a TCP port against a migrated database.",
        discussion: "Stops on SIGINT or SIGTERM. Run `medsettle migrate --reference-data` first on a new database."
    )

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port"))
    var listen: String = "127.0.0.1:7411"

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var secret: SecretOptions
    @OptionGroup var limits: LimitOptions
    @OptionGroup var batching: BatchingOptions
    @OptionGroup var qr: QROptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        try log.bootstrap()
        let (host, port) = try parseHostPort(listen)
        let secrets = try secret.load()
        let pool = PGPool(conninfo: try database.resolvedURL(), size: database.poolSize)
        let store = try Store(pool: pool, secrets: secrets, qrTokens: try qr.tokens(secrets),
                              batching: batching.batching)
        let server = try await MedsettleServer.start(configuration: limits.configuration(host: host, port: port), store: store)
        let logger = Logger(label: "medsettle")
        logger.notice("medsettle serving", metadata: ["port": "\(server.localPort)"])
        let signal = await waitForTerminationSignal()
        logger.notice("stopping", metadata: ["signal": "\(signal)"])
        try await server.shutdown()
        store.close()
        pool.close()
    }
}

struct LimitOptions: ParsableArguments {
    @Option(help: "Longest request line in bytes, CR LF not counted.")
    var maxLine: Int = 16_384

    @Option(help: "Requests in flight per connection before reading pauses (at least 128).")
    var maxInFlight: Int = 128

    @Option(help: "Open connections; more are greeted with BUSY and closed.")
    var maxConnections: Int = 4_096

    func validate() throws {
        guard maxLine >= 256 else { throw ValidationError("--max-line must be at least 256") }
        guard maxInFlight >= 128 else { throw ValidationError("--max-in-flight must be at least 128 (PROTOCOL.md)") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be positive") }
    }

    func configuration(host: String, port: Int) -> ServerConfiguration {
        ServerConfiguration(host: host, port: port, maxLineLength: maxLine, maxInFlight: maxInFlight,
                            maxConnections: maxConnections)
    }
}
