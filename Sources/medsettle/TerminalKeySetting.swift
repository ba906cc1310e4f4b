import ArgumentParser
import Foundation
import MedsettleConfig
import MedsettleCore

/// The terminal key `medsettle client` signs in with: from `key-file` (`--key-file`,
/// `MEDSETTLE_TERMINAL_KEY_FILE`) or `key` (`MEDSETTLE_TERMINAL_KEY`, or `--key` for trials:
/// a command line is visible to every user of the machine), whichever is set at the stronger
/// source (`MedsettleSettings.terminalKeyKey`). Errors name the setting, never the key.
struct TerminalKeySetting {
    static let byteCount = 32

    let settings: ResolvedSettings

    /// The key's 32 bytes; a usage error when none is set, the file cannot be read, or it does
    /// not hold 64 hex digits. Warns on standard error when the file can be read by other users.
    func load() throws -> [UInt8] {
        switch MedsettleSettings.terminalKeyKey(settings) {
        case "key-file"?:
            let path = settings.string("key-file")!
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ValidationError("cannot read the terminal key file \(path): \(error.localizedDescription)")
            }
            if let warning = Self.exposure(of: path) { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            return try Self.decode(text, from: "the terminal key file \(path)")
        case "key"?:
            let source = settings.source("key")!
            return try Self.decode(settings.string("key")!, from: source == .flag ? "--key" : "the terminal key (\(source))")
        default:
            throw ValidationError("no terminal key: pass --key-file, or set MEDSETTLE_TERMINAL_KEY_FILE or MEDSETTLE_TERMINAL_KEY")
        }
    }

    /// 64 hex digits, surrounding white space (a final newline) ignored.
    static func decode(_ text: String, from origin: String) throws -> [UInt8] {
        guard let bytes = decodeHex(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == byteCount else {
            throw ValidationError("\(origin) must be \(byteCount * 2) hex digits (\(byteCount) bytes)")
        }
        return bytes
    }

    /// A warning when the group or others may read the key file (like ssh's for a private key).
    static func exposure(of path: String) -> String? {
        guard let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
              mode & 0o077 != 0 else { return nil }
        return "the terminal key file \(path) can be read by other users (mode \(String(mode & 0o777, radix: 8))); chmod 600 it"
    }
}
