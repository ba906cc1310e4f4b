import Foundation
@testable import MedsettleConfig
import Testing

/// deploy/medsettle.conf is `medsettle config sample`: every setting, commented out with its
/// default, and a file that means the defaults once its lines are uncommented.
@Suite struct ConfigSampleTests {
    static let sample = ConfigSample.text(MedsettleSettings.all)

    @Test func deployedSampleIsTheGeneratedOne() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/medsettle.conf").path
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        #expect(committed == Self.sample, "deploy/medsettle.conf is stale: run `medsettle config sample > deploy/medsettle.conf`")
    }

    @Test func namesEverySettingOnceAndSetsNothing() throws {
        for definition in MedsettleSettings.all {
            let lines = Self.sample.split(separator: "\n").filter { $0.hasPrefix("#\(definition.key) = ") }
            #expect(lines.count == 1, "\(definition.key)")
            #expect(Self.sample.contains(definition.environment), "\(definition.key)")
        }
        #expect(try ConfigFile(path: "sample", text: Self.sample).entries.isEmpty)
    }

    /// Uncommenting every line that holds a value (not a `<placeholder>`) gives a valid file that
    /// resolves to exactly the defaults.
    @Test func uncommentedDefaultsAreTheDefaults() throws {
        let uncommented = Self.sample.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            guard line.hasPrefix("#"), !line.hasPrefix("# "), !line.hasPrefix("##"), line.contains(" = "), !line.contains("<") else {
                return line
            }
            return line.dropFirst()
        }.joined(separator: "\n")
        let file = try ConfigFile(path: "sample", text: uncommented)
        #expect(file.entries.count == MedsettleSettings.all.filter { $0.defaultValue != nil }.count)
        let settings = try ResolvedSettings(definitions: MedsettleSettings.all, flags: [:], environment: [:], file: file)
        for definition in MedsettleSettings.all {
            #expect(settings.string(definition.key) == definition.defaultValue, "\(definition.key)")
        }
    }

    @Test func longHelpIsWrapped() {
        #expect(ConfigSample.wrapped("aa bb cc", width: 5) == ["aa bb", "cc"])
        #expect(Self.sample.split(separator: "\n").allSatisfy { $0.count <= 100 || !$0.hasPrefix("# ") })
    }
}
