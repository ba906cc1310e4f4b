/// Whether a byte is an ASCII digit: the wire's numbers, dates and PINs are ASCII digits only,
/// never the other scalars `Character.isNumber` would accept.
@inline(__always) func isASCIIDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
