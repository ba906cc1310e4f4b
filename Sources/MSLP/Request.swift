import MedsettleCore

/// One parsed request line: `VERB TAG [key=value ...]`.
///
/// The parser only guarantees the framing; whether the keys fit the verb is `validate()`'s job,
/// because the server checks sign-in and the terminal kind between the two steps.
public struct Request: Sendable, Hashable {
    /// Chosen by the client and echoed in the reply.
    public var tag: String
    public var verb: Verb
    /// The fields in line order, values percent-decoded.
    public var fields: [Field]

    public init(tag: String, verb: Verb, fields: [Field] = []) {
        self.tag = tag
        self.verb = verb
        self.fields = fields
    }

    /// Builds a request from ordered pairs (labelled `pairs:` so that `fields: []` stays unambiguous).
    public init(tag: String, verb: Verb, pairs: [(String, String)]) {
        self.init(tag: tag, verb: verb, fields: [Field](pairs: pairs))
    }

    public init(tag: String, verb: Verb, _ fields: KeyValuePairs<String, String>) {
        self.init(tag: tag, verb: verb, fields: [Field](pairs: fields))
    }

    /// The value of `key`, or `nil` when the line does not carry it.
    public func value(_ key: String) -> String? {
        fields.value(key)
    }

    /// The credential of a *cred* verb: `card`+`pin`, or `qr`. `nil` when the line carries neither
    /// complete form; after a successful `validate()` of a *cred* verb it is never `nil`.
    public var credential: Credential? {
        if let qr = value("qr") { return .qr(qr) }
        if let card = value("card"), let pin = value("pin") { return .card(number: card, pin: pin) }
        return nil
    }
}
