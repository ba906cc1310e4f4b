import MedsettleConfig
import Testing

@Suite struct SettingsTests {
    static let definitions: [SettingDefinition] = [
        .init("listen", environment: "MS_LISTEN", default: "127.0.0.1:7411", help: "listener"),
        .init("pool-size", environment: "MS_POOL_SIZE", default: "8", help: "pool"),
        .init("database-url", environment: "DATABASE_URL", secret: true, help: "database"),
        .init("metrics", environment: "MS_METRICS", help: "metrics"),
    ]

    @Test func flagsOverEnvironmentOverFileOverDefaults() throws {
        let file = try ConfigFile(path: "/etc/ms.conf", text: """
            # the engine
            listen = 0.0.0.0:7411
            pool-size = 16   # sized for 2 cores
            metrics = "127.0.0.1:9100"
            """)
        let settings = try ResolvedSettings(definitions: Self.definitions, flags: ["listen": "10.0.0.1:7411"],
                                            environment: ["MS_POOL_SIZE": "32"], file: file)
        #expect(settings.string("listen") == "10.0.0.1:7411" && settings.source("listen") == .flag)
        #expect(settings.string("pool-size") == "32" && settings.source("pool-size") == .environment("MS_POOL_SIZE"))
        #expect(settings.string("metrics") == "127.0.0.1:9100" && settings.source("metrics") == .file("/etc/ms.conf"))
        #expect(settings.string("database-url") == nil)
        let defaults = try ResolvedSettings(definitions: Self.definitions, flags: [:], environment: [:], file: nil)
        #expect(defaults.string("listen") == "127.0.0.1:7411" && defaults.source("listen") == .defaultValue)
        #expect(try defaults.integer("pool-size", in: 1...100) == 8)
    }

    @Test func badFilesAndValuesNameTheirSource() throws {
        #expect(throws: SettingError("/c:2: expected key = value")) { try ConfigFile(path: "/c", text: "listen = x\njunk\n") }
        #expect(throws: SettingError("/c:2: 'listen' is set twice")) { try ConfigFile(path: "/c", text: "listen = x\nlisten = y\n") }
        #expect(throws: SettingError("/c:1: unterminated quote")) { try ConfigFile(path: "/c", text: "listen = \"x\n") }
        #expect(throws: SettingError("/c:1: bad key 'pool_size'")) { try ConfigFile(path: "/c", text: "pool_size = 4\n") }
        let unknown = try ConfigFile(path: "/c", text: "poolsize = 4\n")
        #expect(throws: SettingError("/c:1: unknown setting 'poolsize'")) {
            try ResolvedSettings(definitions: Self.definitions, flags: [:], environment: [:], file: unknown)
        }
        let settings = try ResolvedSettings(definitions: Self.definitions, flags: [:], environment: ["MS_POOL_SIZE": "many"], file: nil)
        #expect(throws: SettingError("pool-size must be an integer from 1 to 100, got 'many' (environment MS_POOL_SIZE)")) {
            try settings.integer("pool-size", in: 1...100)
        }
    }

    @Test func printedSettingsMaskSecrets() throws {
        for (url, shown) in [
            ("postgresql://ms:hunter2@db1,db2/medsettle", "postgresql://ms:***@db1,db2/medsettle"),
            ("host=db user=ms password=hunter2 dbname=medsettle", "host=db user=ms password=*** dbname=medsettle"),
            ("host=/tmp dbname=medsettle", "host=/tmp dbname=medsettle"),
            ("0011223344", "***"),
        ] {
            let settings = try ResolvedSettings(definitions: Self.definitions, flags: ["database-url": url], environment: [:], file: nil)
            let printed = settings.printed()
            #expect(printed.contains(shown), "\(printed)")
            #expect(!printed.contains("hunter2"))
        }
    }
}
