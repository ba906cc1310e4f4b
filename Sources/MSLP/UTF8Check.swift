/// Strict UTF-8 validation over bytes: no overlong forms, no surrogates, nothing above U+10FFFF.
///
/// MSLP/1 is UTF-8 text; invalid bytes are `BAD_REQUEST`, never silently repaired (the standard
/// library's `String(decoding:as:)` would replace them with U+FFFD and hide the error).
enum UTF8Check {
    static func isValid(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = p.count
        var i = 0
        while i < n {
            let b0 = p[i]
            if b0 < 0x80 { i += 1; continue }
            if b0 < 0xC2 { return false }  // continuation byte or overlong 2-byte lead
            if b0 < 0xE0 {
                guard i + 1 < n, isCont(p[i + 1]) else { return false }
                i += 2
                continue
            }
            if b0 < 0xF0 {
                guard i + 2 < n else { return false }
                let b1 = p[i + 1]
                guard isCont(b1), isCont(p[i + 2]) else { return false }
                if b0 == 0xE0 && b1 < 0xA0 { return false }  // overlong
                if b0 == 0xED && b1 >= 0xA0 { return false }  // UTF-16 surrogate
                i += 3
                continue
            }
            if b0 < 0xF5 {
                guard i + 3 < n else { return false }
                let b1 = p[i + 1]
                guard isCont(b1), isCont(p[i + 2]), isCont(p[i + 3]) else { return false }
                if b0 == 0xF0 && b1 < 0x90 { return false }  // overlong
                if b0 == 0xF4 && b1 >= 0x90 { return false }  // above U+10FFFF
                i += 4
                continue
            }
            return false
        }
        return true
    }

    @inline(__always)
    private static func isCont(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
}
