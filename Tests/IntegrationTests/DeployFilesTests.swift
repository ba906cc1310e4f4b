import Foundation
import Testing

/// deploy/: the alert rules and the dashboard name only metrics the engine exports (the table of
/// docs/OPERATIONS.md section 4) and pass promtool; the systemd unit passes systemd-analyze and
/// keeps its hardening; completions and the CLI's description for the man page generate.
@Suite struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The metric names of OPERATIONS.md's table (rows "| `medsettle_…` |").
    static func documentedMetrics() throws -> Set<String> {
        let rows = try text("docs/OPERATIONS.md").split(separator: "\n").filter { $0.hasPrefix("| `medsettle_") }
        return Set(rows.compactMap { $0.dropFirst(3).split(separator: "`").first.map(String.init) })
    }

    /// Every `medsettle_…` name in `text`, a histogram's `_bucket`, `_sum` and `_count` series
    /// named by the histogram.
    static func metricNames(in text: String, documented: Set<String>) -> Set<String> {
        let names = text.matches(of: /medsettle_[a-z0-9_]+/).map { String($0.output) }
        return Set(names.map { name in
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if documented.contains(base) { return base }
            }
            return name
        })
    }

    @Test func alertsAndDashboardUseDocumentedMetrics() throws {
        let documented = try Self.documentedMetrics()
        #expect(documented.count >= 25)
        for file in ["deploy/prometheus/medsettle-alerts.yml", "deploy/grafana/medsettle-dashboard.json"] {
            let used = Self.metricNames(in: try Self.text(file), documented: documented)
            #expect(!used.isEmpty)
            #expect(used.subtracting(documented).isEmpty, "\(file) names metrics the engine does not export: \(used.subtracting(documented).sorted())")
        }
        // The alerts the deployment needs are there.
        let rules = try Self.text("deploy/prometheus/medsettle-alerts.yml")
        for alert in ["MedsettleNotReady", "MedsettleDatabaseUnavailable", "MedsettleEngineRefusals", "MedsettleRefusalRateHigh",
                      "MedsettleSettleLatencyHigh", "MedsettlePoolSaturated", "MedsettleLogLinesDropped"] {
            #expect(rules.contains("alert: \(alert)\n"), "\(alert)")
        }
        let dashboard = try JSONSerialization.jsonObject(with: Data(try Self.text("deploy/grafana/medsettle-dashboard.json").utf8))
        let panels = try #require((dashboard as? [String: Any])?["panels"] as? [[String: Any]])
        for panel in panels where panel["type"] as? String != "row" {
            let targets = try #require(panel["targets"] as? [[String: Any]], "\(panel["title"] ?? "?")")
            #expect(targets.allSatisfy { ($0["expr"] as? String)?.isEmpty == false })
        }
    }

    @Test func promtoolAcceptsTheRules() throws {
        guard let promtool = Self.tool("promtool") else { return } // .ci/run installs it
        let (status, output) = try Self.run(promtool, ["check", "rules", Self.root.appendingPathComponent("deploy/prometheus/medsettle-alerts.yml").path])
        #expect(status == 0, "\(output)")
    }

    /// `systemd-analyze verify` (the unit parses, its settings exist) and `security`: the exposure
    /// stays at 2.0 or below ("OK"). The binary's path and the man page are not installed here,
    /// so the unit is checked with /bin/true as its program and without its Documentation line.
    @Test func systemdAcceptsTheHardenedUnit() throws {
        guard let analyze = Self.tool("systemd-analyze") else { return }
        let unit = try Self.text("deploy/medsettle.service")
        #expect(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        for setting in ["NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
                        "Restart=on-failure", "EnvironmentFile=", "MemoryMax=", "LimitNOFILE="] {
            #expect(unit.contains(setting), "\(setting)")
        }
        let directory = NSTemporaryDirectory() + "medsettle-unit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checked = unit.replacingOccurrences(of: "/usr/local/bin/medsettle", with: "/bin/true")
            .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("Documentation=") }.joined(separator: "\n")
        let path = directory + "/medsettle.service"
        try checked.write(toFile: path, atomically: true, encoding: .utf8)
        let verify = try Self.run(analyze, ["verify", path])
        #expect(verify.status == 0, "\(verify.output)")
        let security = try Self.run(analyze, ["security", "--offline=true", "--threshold=20", "--no-pager", path])
        #expect(security.status == 0, "\(security.output)")
    }

    /// The completion scripts and the description the man-page plugin renders (deploy/generate.sh).
    @Test func completionsAndManualDescriptionGenerate() throws {
        let binary = ServeProcessTests.binary
        #expect(FileManager.default.isExecutableFile(atPath: binary), "build the medsettle executable first (swift build)")
        let subcommands = ["demo", "serve", "migrate", "terminal", "operator", "client", "card", "report", "config"]
        for shell in ["bash", "zsh", "fish"] {
            let (status, script) = try Self.run(binary, ["--generate-completion-script", shell])
            #expect(status == 0 && !script.isEmpty, "\(shell)")
            for subcommand in subcommands { #expect(script.contains(subcommand), "\(shell): \(subcommand)") }
            // The settings' flags, which ArgumentParser does not see, are in the scripts too.
            for flag in ["listen", "pool-size", "otel-endpoint", "config"] { #expect(script.contains(flag), "\(shell): --\(flag)") }
            guard let interpreter = Self.tool(shell) else { continue }
            let directory = NSTemporaryDirectory() + "medsettle-completion-\(getpid())-\(shell)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try script.write(toFile: directory + "/script", atomically: true, encoding: .utf8)
            let syntax = try Self.run(interpreter, ["-n", directory + "/script"])
            #expect(syntax.status == 0, "\(shell) -n: \(syntax.output)")
        }
        let (status, dump) = try Self.run(binary, ["--experimental-dump-help"])
        #expect(status == 0)
        let info = try #require(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])
        let command = try #require(info["command"] as? [String: Any])
        let names = Set(((command["subcommands"] as? [[String: Any]]) ?? []).compactMap { $0["commandName"] as? String })
        #expect(names.isSuperset(of: subcommands), "\(names)")
    }

    static func tool(_ name: String) -> String? {
        ["/usr/bin/", "/bin/", "/usr/local/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()].merging(environment) { _, given in given }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
