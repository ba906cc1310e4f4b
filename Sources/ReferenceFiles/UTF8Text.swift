/// The text of a reference file given as bytes: UTF-8 only, because a file saved in GBK would
/// otherwise load as mojibake names that nobody notices until a receipt prints them.
public enum UTF8Text {
    /// `bytes` as a String, or an error naming the line of the first byte that is not UTF-8.
    public static func decode(_ bytes: [UInt8], file: String) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ReferenceFileError(file: file, line: firstInvalidLine(bytes), message: "the file is not valid UTF-8")
        }
        return text
    }

    /// The 1-based line of the first invalid sequence: decode line by line (a line break is
    /// always the single byte LF in UTF-8, never part of a multi-byte sequence).
    private static func firstInvalidLine(_ bytes: [UInt8]) -> Int {
        var line = 1
        for chunk in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if String(validating: chunk, as: UTF8.self) == nil { return line }
            line += 1
        }
        return line
    }
}
