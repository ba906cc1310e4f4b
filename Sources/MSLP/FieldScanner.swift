/// Reads the `key=value` fields that follow a line's head, shared by the request parser and the
/// client-side reply parser so that both sides read the same grammar.
enum FieldScanner {
    /// Longest key accepted. The longest key of the spec is `use_account` (11); the bound keeps a
    /// hostile line from producing huge error messages.
    static let maxKeyLength = 32

    /// Most fields on one line. The busiest verb takes 8 keys; the bound keeps the duplicate-key
    /// check (a linear scan per field) from going quadratic on a 16 KiB line of `a= b= c= …`.
    static let maxFields = 64

    struct Failure: Error {
        var message: String
    }

    /// Scans fields from `start`, where `p[start]` is the space before the first field or
    /// `start == p.count`.
    static func scan(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> Result<[Field], Failure> {
        let n = p.count
        var fields: [Field] = []
        var pos = start
        if pos < n { fields.reserveCapacity(8) }
        while pos < n {
            // p[pos] is a space: exactly one must separate fields, and none may end the line.
            let keyStart = pos + 1
            if keyStart == n { return .failure(Failure(message: "trailing space")) }
            if p[keyStart] == ByteClass.space { return .failure(Failure(message: "double space")) }
            if fields.count == maxFields { return .failure(Failure(message: "too many fields")) }

            var k = keyStart
            while k < n && ByteClass.isKeyByte(p[k]) { k += 1 }
            guard k < n, p[k] == ByteClass.equals, k > keyStart else {
                return .failure(Failure(message: keyProblem(p, keyStart, k)))
            }
            if k - keyStart > maxKeyLength {
                return .failure(Failure(message: "key too long"))
            }
            let keyBytes = UnsafeBufferPointer(rebasing: p[keyStart..<k])
            for field in fields where field.key.utf8.elementsEqual(keyBytes) {
                return .failure(Failure(message: "duplicate key \(field.key)"))
            }
            let key = String(decoding: keyBytes, as: UTF8.self)

            let valueStart = k + 1
            var end = valueStart
            while end < n && p[end] != ByteClass.space { end += 1 }
            switch PercentCoding.decode(p, valueStart..<end) {
            case .success(let value):
                fields.append(Field(key: key, value: value))
            case .failure(.badEscape):
                return .failure(Failure(message: "bad percent escape in \(key)"))
            case .failure(.rawByte(let b)):
                return .failure(Failure(message: "unescaped byte 0x\(hex2(b)) in \(key)"))
            case .failure(.invalidUTF8):
                return .failure(Failure(message: "invalid UTF-8 in \(key)"))
            }
            pos = end
        }
        return .success(fields)
    }

    /// Explains why the token at `keyStart` is not `key=`; `k` is where the key alphabet stopped.
    private static func keyProblem(_ p: UnsafeBufferPointer<UInt8>, _ keyStart: Int, _ k: Int) -> String {
        var j = k
        while j < p.count && p[j] != ByteClass.space && p[j] != ByteClass.equals { j += 1 }
        if j == p.count || p[j] == ByteClass.space { return "field without '='" }
        if j == keyStart { return "empty key" }
        return "bad key: only a-z 0-9 _"
    }

    static func hex2(_ b: UInt8) -> String {
        String(decoding: [ByteClass.upperHex[Int(b >> 4)], ByteClass.upperHex[Int(b & 0x0F)]], as: UTF8.self)
    }
}
