import ArgumentParser
import MedsettleConfig

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the settings `serve` would run with.",
        subcommands: [Print.self, Sample.self]
    )

    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a config file naming every setting, commented out with its meaning and default (deploy/medsettle.conf)."
        )

        func run() throws {
            print(ConfigSample.text(MedsettleSettings.all), terminator: "")
        }
    }

    struct Print: ParsableCommand, SettingsCommand {
        static let commandPath = "medsettle config print"
        static let settingScope = EngineConfiguration.scope
        static let configuration = CommandConfiguration(
            abstract: "Print every setting's effective value and where it came from (flag, environment, config file, default); secrets masked.",
            discussion: discussion("""
                Takes the same settings as `serve`, and reads the same environment and config file. Then names \
                the setting the server secret comes from, and warns when secret-file and secret disagree.
                """, settings: settingScope)
        )

        func run() throws {
            let settings = try resolvedSettings()
            print(settings.printed())
            let secret = ServerSecretSetting(settings: settings)
            print("\nserver secret: \(secret.described)")
            if let conflict = secret.conflict { print("warning: \(conflict)") }
            do {
                _ = try EngineConfiguration(settings)
            } catch let error as SettingError {
                print("\nnot usable: \(error.description)")
                throw ExitCode(1)
            }
        }
    }
}
