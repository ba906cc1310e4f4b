import NIOCore

/// Where a connection comes from, as the per-address limits count it: an IPv4 address, or an
/// IPv6 client's /64 — a host is usually given a whole /64, so counting single IPv6 addresses
/// would let one client use millions of them. An IPv4 client of a dual-stack listener
/// (`::ffff:a.b.c.d`) counts as its IPv4 address.
enum ClientAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// The first 64 bits of the address.
    case v6(UInt64)

    /// Nil for what has no IP address (a Unix socket): not limited per address.
    init?(_ address: SocketAddress?) {
        switch address {
        case .v4(let v4)?:
            self = .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6)?:
            var raw = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                self = .v4(bytes[12..<16].reduce(0) { $0 << 8 | UInt32($1) })
            } else {
                self = .v6(bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) })
            }
        default:
            return nil
        }
    }

    var description: String {
        switch self {
        case .v4(let address):
            return [24, 16, 8, 0].map { String(address >> $0 & 0xFF) }.joined(separator: ".")
        case .v6(let prefix):
            return [48, 32, 16, 0].map { String(prefix >> $0 & 0xFFFF, radix: 16) }.joined(separator: ":") + "::/64"
        }
    }
}
