/// One `key=value` pair of a request or reply line, value already percent-decoded.
///
/// Lines keep their fields as an ordered array rather than a dictionary: a line has few fields,
/// a linear scan is cheaper than hashing, and replies must keep the order the spec shows.
public struct Field: Sendable, Hashable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public init(_ key: String, _ value: String) {
        self.init(key: key, value: value)
    }
}

extension Array where Element == Field {
    /// The value of the first field named `key`, if any (lines never carry a key twice).
    public func value(_ key: String) -> String? {
        for field in self where field.key == key { return field.value }
        return nil
    }

    /// Builds fields from ordered pairs, as the reply and request builders accept them.
    init(pairs: [(String, String)]) {
        self = pairs.map { Field(key: $0.0, value: $0.1) }
    }

    init(pairs: KeyValuePairs<String, String>) {
        self = pairs.map { Field(key: $0.key, value: $0.value) }
    }
}
