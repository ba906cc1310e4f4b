import MedsettleConfig
import Testing

/// The settings' flags are taken out of a command line the same way for every command, and a
/// command reads only the scopes it names.
@Suite struct SettingFlagsTests {
    @Test func settingFlagsAreTakenOutAndTheRestIsLeftInOrder() throws {
        let flags = try SettingFlags(
            arguments: ["history", "--database-url", "host=/tmp", "H00000017", "--pool-size=4", "--insecure", "--json",
                        "--config", "/etc/ms.conf", "--", "--listen", "x"],
            definitions: MedsettleSettings.all)
        #expect(flags.given == ["database-url": "host=/tmp", "pool-size": "4", "insecure": "true"])
        #expect(flags.configPath == "/etc/ms.conf")
        #expect(flags.rest == ["history", "H00000017", "--json", "--", "--listen", "x"])
    }

    @Test func badSettingFlagsAreRefused() {
        let all = MedsettleSettings.all
        #expect(throws: SettingError("--pool-size needs a value")) { try SettingFlags(arguments: ["serve", "--pool-size"], definitions: all) }
        #expect(throws: SettingError("--listen is given twice")) {
            try SettingFlags(arguments: ["--listen", "a:1", "--listen", "b:2"], definitions: all)
        }
        #expect(throws: SettingError("secret is never taken from the command line: set MEDSETTLE_SECRET or secret in the config file")) {
            try SettingFlags(arguments: ["migrate", "--secret", "00"], definitions: all)
        }
    }

    @Test func aCommandReadsOnlyItsScopes() throws {
        let file = try ConfigFile(path: "/c", text: "listen = 0.0.0.0:7411\ndatabase-url = host=/tmp\n")
        // `report` reads the database but not the listener: the file's listen line is not an error,
        // but --pool-size on its command line is (it opens no pool).
        let report = try ResolvedSettings(definitions: MedsettleSettings.all, scope: .database, flags: [:],
                                          environment: ["MEDSETTLE_POOL_SIZE": "4"], file: file)
        #expect(report.string("database-url") == "host=/tmp" && report.string("listen") == nil && report.string("pool-size") == nil)
        #expect(throws: SettingError("medsettle report does not take --pool-size")) {
            try ResolvedSettings(definitions: MedsettleSettings.all, scope: .database, flags: ["pool-size": "4"],
                                 environment: [:], file: nil, command: "medsettle report")
        }
    }

    /// `--secret-file`, then `MEDSETTLE_SECRET_FILE`, then `MEDSETTLE_SECRET`, then the config
    /// file's `secret-file`, then its `secret`: every command chooses alike.
    @Test func oneServerSecretPrecedence() throws {
        func chosen(flags: [String: String] = [:], environment: [String: String] = [:], file text: String = "") throws -> String? {
            let settings = try ResolvedSettings(definitions: MedsettleSettings.all, scope: [.secret], flags: flags,
                                                environment: environment, file: try ConfigFile(path: "/c", text: text))
            return MedsettleSettings.serverSecretKey(settings).map { "\($0) \(settings.source($0)!)" }
        }
        let both = ["MEDSETTLE_SECRET_FILE": "/s.hex", "MEDSETTLE_SECRET": "00ff"]
        #expect(try chosen(flags: ["secret-file": "/f.hex"], environment: both) == "secret-file flag")
        #expect(try chosen(environment: both) == "secret-file environment MEDSETTLE_SECRET_FILE")
        #expect(try chosen(environment: ["MEDSETTLE_SECRET": "00ff"], file: "secret-file = /c.hex") == "secret environment MEDSETTLE_SECRET")
        #expect(try chosen(file: "secret-file = /c.hex\nsecret = 00ff") == "secret-file config file /c")
        #expect(try chosen(file: "secret = 00ff") == "secret config file /c")
        #expect(try chosen() == nil)
    }

    /// One table: keys and environment variables are unique, and help lists every flag.
    @Test func theTableIsConsistent() {
        let all = MedsettleSettings.all
        #expect(Set(all.map(\.key)).count == all.count)
        #expect(Set(all.map(\.environment)).count == all.count)
        #expect(all.allSatisfy { !$0.scope.isEmpty })
        #expect(all.filter { $0.flag == .none }.map(\.key) == ["secret", "qr-secret", "qr-secret-previous"])
        let help = SettingFlags.help(all, scope: [.database, .secret, .engine, .log, .migration])
        for definition in all where definition.scope != .client && definition.flag != .none {
            #expect(help.contains("--\(definition.key)"), "\(definition.key)")
        }
        #expect(!help.contains("--terminal"))
    }
}
