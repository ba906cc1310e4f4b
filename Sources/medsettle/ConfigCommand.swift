import ArgumentParser
import MedsettleConfig

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the settings `serve` would run with.",
        subcommands: [Print.self]
    )

    struct Print: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every setting's effective value and where it came from (flag, environment, config file, default); secrets masked.",
            discussion: "Takes the same flags as `serve`, and reads the same environment and config file."
        )

        @OptionGroup var options: ServeOptions

        func run() throws {
            let settings: ResolvedSettings
            do { settings = try options.resolve() } catch let error as SettingError { throw ValidationError(error.description) }
            print(settings.printed())
            do {
                _ = try EngineConfiguration(settings)
            } catch let error as SettingError {
                print("\nnot usable: \(error.description)")
                throw ExitCode(1)
            }
        }
    }
}
