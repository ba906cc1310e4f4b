/// A reference-data file that is refused. It names the file and the 1-based line (1 is the
/// header; a record spanning lines is named by the line it starts on) so that an operator can fix
/// the file without reading the parser (ADMIN.md: "the message names the line").
public struct ReferenceFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as the operator named it (e.g. `catalog.csv`).
    public let file: String
    public let line: Int
    public let message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}
