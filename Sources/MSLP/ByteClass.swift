/// Byte classes of the MSLP/1 grammar. The parser works on raw UTF-8 bytes, never on `Character`s,
/// so that the hot path neither decodes grapheme clusters nor allocates.
enum ByteClass {
    static let space: UInt8 = 0x20
    static let percent: UInt8 = 0x25
    static let equals: UInt8 = 0x3D

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    @inline(__always)
    static func isUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }

    @inline(__always)
    static func isLower(_ b: UInt8) -> Bool { b &- 0x61 < 26 }

    @inline(__always)
    static func isLetter(_ b: UInt8) -> Bool { isUpper(b) || isLower(b) }

    /// `A-Z a-z 0-9 . _ -`: the alphabet of tags and traces.
    @inline(__always)
    static func isTagByte(_ b: UInt8) -> Bool {
        isLetter(b) || isDigit(b) || b == 0x2E || b == 0x5F || b == 0x2D
    }

    /// `a-z 0-9 _`: the alphabet of keys.
    @inline(__always)
    static func isKeyByte(_ b: UInt8) -> Bool { isLower(b) || isDigit(b) || b == 0x5F }

    /// `A-Z a-z 0-9 _ -`: the alphabet of catalog item codes.
    @inline(__always)
    static func isItemCodeByte(_ b: UInt8) -> Bool {
        isLetter(b) || isDigit(b) || b == 0x5F || b == 0x2D
    }

    /// A byte that a value must carry as `%XX`: space, `%`, every byte below 0x21, and 0x7F.
    @inline(__always)
    static func mustEscape(_ b: UInt8) -> Bool { b < 0x21 || b == 0x7F || b == percent }

    /// The value of a hex digit of either case, or `nil`.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        if isDigit(b) { return b &- 0x30 }
        let lower = b | 0x20
        if lower &- 0x61 < 6 { return lower &- 0x61 &+ 10 }
        return nil
    }

    /// Upper-case hex digits, as replies and requests are written.
    static let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)
}
