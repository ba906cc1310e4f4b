import Foundation
import Testing

/// `medsettle client` takes the terminal key from a file (`--key-file`,
/// `MEDSETTLE_TERMINAL_KEY_FILE`) or the environment (`MEDSETTLE_TERMINAL_KEY`), and `--key` still
/// works for trials; a stronger source wins (flag > environment), and no error shows the key.
@Suite(.timeLimit(.minutes(2)))
struct ClientKeyTests {
    static let terminal = "P001-01"
    static var key: String { Terminals.keys[terminal]! }
    /// Another terminal's key: a sign-in with it fails.
    static let wrongKey = Terminals.keys["P001-02"]!

    /// Runs `medsettle client ARGS` with `PING` on standard input.
    static func client(_ arguments: [String], port: Int, environment: [String: String] = [:]) throws
        -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServeProcessTests.binary)
        process.arguments = ["client", "--port", String(port), "--terminal", terminal] + arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(Data("PING\n".utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// A file holding `text`, with `mode`, in a directory of its own.
    static func keyFile(_ text: String, mode: Int = 0o600) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("medsettle-key-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("terminal.key").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]))
        return path
    }

    static func signedIn(_ run: (status: Int32, output: String, error: String)) -> Bool {
        run.status == 0 && run.output.contains("c1 OK institution=P001 kind=pharmacy") && run.output.contains("c2 OK")
    }

    @Test func theKeyComesFromAFileOrTheEnvironment() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ServeProcessTests.binary), "build the medsettle executable first (swift build)")
        let engine = try await TestEngine.start()
        let port = engine.port
        let file = try Self.keyFile(Self.key + "\n")

        let fromFlag = try Self.client(["--key-file", file], port: port)
        #expect(Self.signedIn(fromFlag), "\(fromFlag)")
        #expect(fromFlag.error.isEmpty, "\(fromFlag.error)")
        let fromEnvironmentFile = try Self.client([], port: port, environment: ["MEDSETTLE_TERMINAL_KEY_FILE": file])
        #expect(Self.signedIn(fromEnvironmentFile), "\(fromEnvironmentFile)")
        let fromEnvironment = try Self.client([], port: port, environment: ["MEDSETTLE_TERMINAL_KEY": Self.key])
        #expect(Self.signedIn(fromEnvironment), "\(fromEnvironment)")
        let onCommandLine = try Self.client(["--key", Self.key], port: port)
        #expect(Self.signedIn(onCommandLine), "\(onCommandLine)")

        // flag > environment, whichever form each takes.
        let fileOverEnvironment = try Self.client(["--key-file", file], port: port, environment: ["MEDSETTLE_TERMINAL_KEY": Self.wrongKey])
        #expect(Self.signedIn(fileOverEnvironment), "\(fileOverEnvironment)")
        let wrongFile = try Self.keyFile(Self.wrongKey)
        let keyOverEnvironmentFile = try Self.client(["--key", Self.key], port: port, environment: ["MEDSETTLE_TERMINAL_KEY_FILE": wrongFile])
        #expect(Self.signedIn(keyOverEnvironmentFile), "\(keyOverEnvironmentFile)")
        // Between the environment's two, the file.
        let environmentFileFirst = try Self.client([], port: port, environment: ["MEDSETTLE_TERMINAL_KEY_FILE": file,
                                                                                   "MEDSETTLE_TERMINAL_KEY": Self.wrongKey])
        #expect(Self.signedIn(environmentFileFirst), "\(environmentFileFirst)")
        let wrong = try Self.client([], port: port, environment: ["MEDSETTLE_TERMINAL_KEY_FILE": wrongFile])
        // "> c2 " is a second request sent; a bare "c2" can be part of the MAC's hex.
        #expect(wrong.output.contains("c1 ERR AUTH_FAILED") && !wrong.output.contains("> c2 "), "\(wrong)")
        await engine.stop()
    }

    @Test func aBadKeyFileIsAUsageErrorThatShowsNoKey() throws {
        #expect(FileManager.default.isExecutableFile(atPath: ServeProcessTests.binary), "build the medsettle executable first (swift build)")
        // Nothing listens on the port: each of these fails before connecting.
        let port = try ServeProcessTests().freePort()
        let short = String(Self.key.dropLast(2))
        let bad = try Self.keyFile(short)
        let refused = try Self.client(["--key-file", bad], port: port)
        #expect(refused.status == 64, "\(refused)")
        #expect(refused.error.contains("the terminal key file \(bad) must be 64 hex digits"), "\(refused.error)")
        #expect(!refused.error.contains(short) && !refused.output.contains(short))

        let missing = try Self.client(["--key-file", bad + ".missing"], port: port)
        #expect(missing.status == 64 && missing.error.contains("cannot read the terminal key file"), "\(missing)")
        let badEnvironment = try Self.client([], port: port, environment: ["MEDSETTLE_TERMINAL_KEY": short])
        #expect(badEnvironment.status == 64 && badEnvironment.error.contains("MEDSETTLE_TERMINAL_KEY") && !badEnvironment.error.contains(short),
                "\(badEnvironment)")
        let none = try Self.client([], port: port)
        #expect(none.status == 64 && none.error.contains("no terminal key"), "\(none)")
    }

    @Test func aKeyFileOthersCanReadIsWarnedAbout() async throws {
        let engine = try await TestEngine.start()
        let open = try Self.keyFile(Self.key, mode: 0o644)
        let run = try Self.client(["--key-file", open], port: engine.port)
        #expect(Self.signedIn(run), "\(run)")
        #expect(run.error.contains("warning: the terminal key file \(open) can be read by other users"), "\(run.error)")
        await engine.stop()
    }
}
