/// A config file naming every setting, commented out, each with what it means, its environment
/// variable and its default: `medsettle config sample`, and deploy/medsettle.conf (a test keeps
/// that file equal to this). Uncommenting a line with a value sets that default explicitly; a
/// line whose value is `<…>` needs a value of the operator's.
public enum ConfigSample {
    /// The sample for `definitions`, grouped by the commands that read them.
    public static func text(_ definitions: [SettingDefinition]) -> String {
        var lines = header
        var written = Set<String>()
        for group in groups {
            let members = definitions.filter { !$0.scope.isDisjoint(with: group.scope) && !written.contains($0.key) }
            guard !members.isEmpty else { continue }
            if lines.last != "" { lines.append("") }
            lines += ["## " + group.title, ""]
            for definition in members {
                written.insert(definition.key)
                lines += entry(definition)
            }
        }
        while lines.last == "" { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }

    private static let header = [
        "# medsettle configuration: every setting of every command, each commented out with its default.",
        "# Written by `medsettle config sample`; docs/OPERATIONS.md section 2 has the same table.",
        "#",
        "# `key = value` sets one (a value with spaces or a `#` in double quotes); `#` starts a comment.",
        "# Precedence: command-line flag > environment variable > this file > default. An unknown key is",
        "# an error; a key another command reads is left to it, so one file serves every command.",
        "# Secrets (the database password, the server secret as hex, the QR keys) belong in the",
        "# service's environment file (mode 0600), not here: see deploy/medsettle.env.",
    ]

    private static let groups: [(scope: SettingScope, title: String)] = [
        (.database, "The database (every command that connects to it)"),
        (.secret, "The server secret (every command that hashes PINs or seals terminal keys)"),
        (.log, "The log (serve, demo)"),
        (.engine, "The engine: listener, TLS, pool, limits, HTTP side, tracing (serve, demo, config print)"),
        (.migration, "Schema migrations (migrate)"),
        (.client, "An MSLP client (client)"),
    ]

    private static func entry(_ definition: SettingDefinition) -> [String] {
        var about = wrapped(definition.help, width: 96).map { "# " + $0 }
        var origin = "environment \(definition.environment)"
        switch definition.flag {
        case .value, .toggle: origin += ", flag --\(definition.key)"
        case .none: origin += ", no flag"
        }
        if definition.secret { origin += "; a secret" }
        about.append("# (" + origin + ")")
        let value: String
        if let defaultValue = definition.defaultValue {
            value = defaultValue
        } else if case .value(let name) = definition.flag {
            value = "<\(name)>"
        } else {
            value = "<hex>"
        }
        return about + ["#\(definition.key) = \(value)", ""]
    }

    /// `text` in lines of at most `width` characters, broken between words.
    static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
