import MedsettleCore

/// The keys a verb takes (PROTOCOL.md "Session" and "Verbs by kind"): which are required, which
/// optional, and whether it takes the *cred* group (`card`+`pin`, or `qr`: exactly one form).
///
/// Most verbs have one form. `PRICE` has two alternatives (a claim with *cred*, or — hospital only —
/// an `admission` alone), so a schema is a list of forms and a request must fit one of them.
/// Only the presence of keys is checked here; value syntax is `ValueSyntax`'s job.
public struct FieldSchema: Sendable, Hashable {
    /// One element of a form's required list.
    public enum Slot: Sendable, Hashable, ExpressibleByStringLiteral {
        case key(String)
        /// The *cred* group: `card` and `pin` together, or `qr` alone.
        case cred

        public init(stringLiteral value: String) { self = .key(value) }
    }

    /// One accepted shape of a request.
    public struct Form: Sendable, Hashable {
        /// Required keys and groups, in the order missing ones are reported.
        public let required: [Slot]
        public let optional: [String]
        /// The kinds this form is open to; `nil` means every kind the verb is allowed for.
        public let kinds: Set<TerminalKind>?

        public init(_ required: [Slot], optional: [String] = [], onlyFor kinds: Set<TerminalKind>? = nil) {
            self.required = required
            self.optional = optional
            self.kinds = kinds
        }

        public var takesCred: Bool { required.contains(.cred) }

        /// Whether `key` may appear on a line of this form.
        public func accepts(_ key: String) -> Bool {
            for slot in required {
                switch slot {
                case .key(let k): if k == key { return true }
                case .cred: if key == "card" || key == "pin" || key == "qr" { return true }
                }
            }
            return optional.contains(key)
        }

        public func applies(to kind: TerminalKind?) -> Bool {
            guard let kind, let kinds else { return true }
            return kinds.contains(kind)
        }

        /// The first problem of `fields` against this form, or `nil` if they fit. Unknown keys are
        /// reported first (in line order), then a broken *cred* group, then missing keys.
        public func problem(with fields: [Field]) -> String? {
            for field in fields where !accepts(field.key) {
                return "unknown key \(field.key)"
            }
            for slot in required {
                switch slot {
                case .key(let k):
                    if fields.value(k) == nil { return "missing key \(k)" }
                case .cred:
                    if let message = FieldSchema.credProblem(fields) { return message }
                }
            }
            return nil
        }
    }

    public let forms: [Form]

    public init(forms: [Form]) {
        precondition(!forms.isEmpty, "a schema has at least one form")
        self.forms = forms
    }

    public init(_ required: [Slot], optional: [String] = []) {
        self.init(forms: [Form(required, optional: optional)])
    }

    /// Checks that `request` carries exactly the keys of one form of this schema. With a `kind`,
    /// forms closed to that kind do not count (a pharmacy's `PRICE admission=…` is refused as
    /// `unknown key admission`). Answers `BAD_REQUEST` naming the key, or `nil` when the keys fit.
    public func validate(_ request: Request, kind: TerminalKind? = nil) -> ProtocolFailure? {
        var best: (score: Int, message: String)?
        for form in forms where form.applies(to: kind) {
            guard let message = form.problem(with: request.fields) else { return nil }
            if forms.count == 1 { return ProtocolFailure(tag: request.tag, code: .badRequest, message: message) }
            // Report against the form the client most likely meant: the one knowing most of its keys.
            var score = 0
            for field in request.fields where form.accepts(field.key) { score += 1 }
            if best == nil || score > best!.score { best = (score, message) }
        }
        return ProtocolFailure(tag: request.tag, code: .badRequest, message: best?.message ?? "no form of \(request.verb.rawValue) fits")
    }

    /// `card`+`pin` or `qr`, exactly one form, never both and never half.
    static func credProblem(_ fields: [Field]) -> String? {
        var card = false, pin = false, qr = false
        for field in fields {
            switch field.key {
            case "card": card = true
            case "pin": pin = true
            case "qr": qr = true
            default: break
            }
        }
        if qr { return card || pin ? "give card and pin, or qr, not both" : nil }
        switch (card, pin) {
        case (true, true): return nil
        case (true, false): return "missing key pin"
        case (false, true): return "missing key card"
        case (false, false): return "missing key card (or qr)"
        }
    }
}

extension Request {
    /// Checks the keys against `verb.schema` (see `FieldSchema.validate`).
    public func validate(kind: TerminalKind? = nil) -> ProtocolFailure? {
        verb.schema.validate(self, kind: kind)
    }
}
