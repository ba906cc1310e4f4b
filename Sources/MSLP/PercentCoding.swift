/// The `%XX` escaping of MSLP/1 values.
///
/// A space, `%`, every byte below 0x21 and 0x7F must be escaped (so that a value never contains
/// the field separator or a line break); other UTF-8 passes as is. Encoders write upper-case hex;
/// the decoder accepts either case, as terminals in the field are not consistent.
public enum PercentCoding {
    /// Appends `value`'s UTF-8 to `out`, escaping exactly the bytes that must be escaped.
    public static func append(_ value: String, to out: inout [UInt8]) {
        for b in value.utf8 {
            if ByteClass.mustEscape(b) {
                out.append(ByteClass.percent)
                out.append(ByteClass.upperHex[Int(b >> 4)])
                out.append(ByteClass.upperHex[Int(b & 0x0F)])
            } else {
                out.append(b)
            }
        }
    }

    /// `value` as it is written on the wire.
    public static func encode(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Why a wire value could not be decoded.
    enum DecodeError: Error {
        /// `%` not followed by two hex digits.
        case badEscape
        /// A byte that must be escaped appeared raw.
        case rawByte(UInt8)
        /// The raw or the decoded bytes are not valid UTF-8.
        case invalidUTF8
    }

    /// Decodes the wire bytes `p[range]` into a string, refusing anything not written as the spec
    /// says. Values without escapes (the common case) are turned into a `String` directly.
    static func decode(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Result<String, DecodeError> {
        var hasEscape = false
        var hasHigh = false
        var i = range.lowerBound
        while i < range.upperBound {
            let b = p[i]
            if b == ByteClass.percent {
                guard i + 2 < range.upperBound,
                      ByteClass.hexValue(p[i + 1]) != nil, ByteClass.hexValue(p[i + 2]) != nil
                else { return .failure(.badEscape) }
                hasEscape = true
                i += 3
                continue
            }
            if b >= 0x80 {
                hasHigh = true
            } else if ByteClass.mustEscape(b) {
                return .failure(.rawByte(b))
            }
            i += 1
        }
        let raw = UnsafeBufferPointer(rebasing: p[range])
        if hasHigh && !UTF8Check.isValid(raw) { return .failure(.invalidUTF8) }
        if !hasEscape { return .success(String(decoding: raw, as: UTF8.self)) }

        var valid = true
        let decoded = String(unsafeUninitializedCapacity: raw.count) { out in
            var n = 0
            var j = 0
            while j < raw.count {
                let b = raw[j]
                if b == ByteClass.percent {
                    out[n] = ByteClass.hexValue(raw[j + 1])! << 4 | ByteClass.hexValue(raw[j + 2])!
                    j += 3
                } else {
                    out[n] = b
                    j += 1
                }
                n += 1
            }
            valid = UTF8Check.isValid(UnsafeBufferPointer(rebasing: out[0..<n]))
            return valid ? n : 0
        }
        return valid ? .success(decoded) : .failure(.invalidUTF8)
    }
}
