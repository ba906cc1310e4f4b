import Foundation
import LocalPostgres
import Testing

/// docs/OPERATIONS.md §1, "From an empty database to the first settlement", run word for word by
/// bash on a fresh PostgreSQL cluster of its own (the runbook creates roles and a database named
/// `medsettle`, which must not meet another test's), with the built `medsettle` on the PATH.
@Suite(.timeLimit(.minutes(3)))
struct RunbookTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    /// The fenced shell block after the `<!-- runbook` marker.
    static func runbook() throws -> String {
        let text = try String(contentsOf: root.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)
        guard let marker = text.range(of: "<!-- runbook "),
              let open = text.range(of: "```sh\n", range: marker.upperBound..<text.endIndex),
              let close = text.range(of: "\n```", range: open.upperBound..<text.endIndex) else {
            throw TestFailure("docs/OPERATIONS.md has no runbook block")
        }
        return String(text[open.upperBound..<close.lowerBound])
    }

    @Test func theRunbookWorksAsWritten() throws {
        let binary = URL(fileURLWithPath: ServeProcessTests.binary)
        #expect(FileManager.default.isExecutableFile(atPath: binary.path), "build the medsettle executable first (swift build)")
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("medsettle-runbook-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: base.path)
        let cluster = try LocalCluster.prepare(directory: base.appendingPathComponent("pg").path, durable: false)
        try cluster.start()
        defer {
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(at: base)
        }
        let etc = base.appendingPathComponent("etc")
        try FileManager.default.createDirectory(at: etc, withIntermediateDirectories: true)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-euo", "pipefail", "-c", try Self.runbook()]
        process.currentDirectoryURL = Self.root
        process.environment = [
            "PATH": binary.deletingLastPathComponent().path + ":/usr/bin:/bin",
            "PGHOST": cluster.directory, "PGPORT": String(cluster.port), "PGUSER": LocalCluster.superuser,
            "MEDSETTLE_ETC": etc.path, "PORT": String(try ServeProcessTests().freePort()),
            "HOME": base.path, "LANG": "C.UTF-8",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        let settled = text.split(separator: "\n").last { $0.contains(" OK settlement=") }
        #expect(settled?.contains("total=5500") == true && settled?.contains("account=2500 cash=3000") == true
                && settled?.contains("balance=47500") == true, "\(text)")
        #expect(text.contains("terminal=P001-01 institution=P001 kind=pharmacy enabled=1"), "\(text)")
    }
}
