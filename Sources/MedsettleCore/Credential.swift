/// How a holder proves presence for a *cred* verb (PROTOCOL.md "Common fields").
public enum Credential: Sendable, Hashable {
    /// A physical card number and its 6-digit social-security PIN.
    case card(number: String, pin: String)
    /// An e-card payment QR token, standing in for card + PIN.
    case qr(String)
}
