/// A reference-data file that does not have the expected shape. It names the file and the
/// 1-based line so that an operator can fix a shipped CSV without reading the parser.
public struct CSVError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which file (e.g. `catalog.csv`).
    public let file: String
    /// The 1-based line number in that file (1 is the header).
    public let line: Int
    public let message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}
