import Foundation

/// The `--json` (and `--format json`) output of the commands: pretty, keys sorted, so that a
/// script or a diff sees the same document for the same data.
enum JSONOutput {
    /// Prints `value` as one JSON document. `escapingSlashes: false` leaves `/` as it is (paths,
    /// dates written with slashes) where the document carries free text.
    static func print(_ value: some Encodable, escapingSlashes: Bool = true) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = escapingSlashes ? [.prettyPrinted, .sortedKeys] : [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
