import ArgumentParser
import MedsettleConfig

@main
struct Medsettle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "medsettle",
        abstract: "Medical-insurance settlement engine: social security cards, claims and personal accounts over MSLP/1.",
        discussion: """
            Start with `medsettle demo`: it runs the engine on 127.0.0.1:7411 with the demo data set, on a \
            private PostgreSQL it starts itself (or on DATABASE_URL when set). Then try a settlement with \
            `medsettle client`.
            """,
        version: BuildInfo.version,
        subcommands: [DemoCommand.self, ServeCommand.self, MigrateCommand.self, InstitutionCommand.self, CatalogCommand.self, PolicyCommand.self, TerminalCommand.self, OperatorCommand.self, ClientCommand.self, CardCommand.self, ReconCommand.self, ReportCommand.self, SeedCommand.self, ConfigCommand.self]
    )

    /// The settings' flags are taken out of the command line first (one declaration for every
    /// command: `MedsettleSettings`); ArgumentParser parses the rest.
    static func main() async {
        switch CommandLineSettings.parsed {
        case .success(let flags):
            if CompletionScripts.printIfAsked(flags.rest) { return }
            await main(flags.rest)
        case .failure(let error): exit(withError: ValidationError(error.description))
        }
    }
}
