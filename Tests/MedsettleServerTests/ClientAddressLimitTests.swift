import NIOCore
import NIOEmbedded
import Testing

@testable import MedsettleServer

/// The limits per client address, without sockets: how an address is counted, the connections
/// open from it, and the table of its failed sign-ins (on a clock the test moves).
@Suite struct ClientAddressLimitTests {
    static func address(_ ip: String) throws -> ClientAddress {
        try #require(ClientAddress(try SocketAddress(ipAddress: ip, port: 40_000)))
    }

    @Test func anIPv6ClientCountsAsItsSlash64AndAMappedIPv4ClientAsItsIPv4Address() throws {
        #expect(try Self.address("192.0.2.7").description == "192.0.2.7")
        #expect(try Self.address("2001:db8:1:2::1") == Self.address("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        #expect(try Self.address("2001:db8:1:2::1") != Self.address("2001:db8:1:3::1"))
        #expect(try Self.address("2001:db8:1:2::1").description == "2001:db8:1:2::/64")
        #expect(try Self.address("::ffff:192.0.2.7") == Self.address("192.0.2.7"))
        #expect(ClientAddress(nil) == nil)
    }

    @Test func connectionsFromOneAddressAreCappedAndOthersAreNot() throws {
        let connections = OpenConnections(limit: 4, perAddress: 2)
        let a = try Self.address("192.0.2.1"), b = try Self.address("192.0.2.2")
        let channels = (0..<5).map { _ in EmbeddedChannel() }
        #expect(connections.admit(channels[0], from: a) == .admitted)
        #expect(connections.admit(channels[1], from: a) == .admitted)
        #expect(connections.admit(channels[2], from: a) == .addressFull)
        #expect(connections.admit(channels[2], from: b) == .admitted)
        connections.remove(channels[0], from: a)
        #expect(connections.admit(channels[3], from: a) == .admitted)
        #expect(connections.admit(channels[4], from: b) == .admitted)
        // The global limit comes first.
        #expect(connections.admit(EmbeddedChannel(), from: try Self.address("192.0.2.3")) == .full)
        #expect(connections.count == 4)
    }

    @Test func noCapPerAddressWhenItIsZero() throws {
        let connections = OpenConnections(limit: 100, perAddress: 0)
        let a = try Self.address("192.0.2.1")
        for _ in 0..<100 { #expect(connections.admit(EmbeddedChannel(), from: a) == .admitted) }
    }

    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    static func table(maxFailures: Int = 3, capacity: Int = 100) -> SignInFailures {
        SignInFailures(.init(maxFailures: maxFailures, window: .seconds(60), cooldown: .seconds(30), capacity: capacity))
    }

    @Test func failuresWithinTheWindowBlockTheAddressForTheCooldown() throws {
        let table = Self.table()
        let a = try Self.address("192.0.2.1"), b = try Self.address("192.0.2.2")
        #expect(!table.recordFailure(a, now: Self.start))
        #expect(!table.recordFailure(a, now: Self.start + .seconds(10)))
        #expect(!table.recordFailure(b, now: Self.start + .seconds(10)))
        #expect(table.blocked(a, now: Self.start + .seconds(20)) == nil)
        #expect(table.recordFailure(a, now: Self.start + .seconds(20))) // the 3rd: blocks
        #expect(table.blocked(a, now: Self.start + .seconds(21)) == .seconds(29))
        #expect(table.blocked(b, now: Self.start + .seconds(21)) == nil) // another address
        #expect(table.blocked(a, now: Self.start + .seconds(50)) == nil) // the cool-down is over
        // After it the address starts afresh.
        #expect(!table.recordFailure(a, now: Self.start + .seconds(51)))
        #expect(table.blocked(a, now: Self.start + .seconds(52)) == nil)
    }

    @Test func failuresOlderThanTheWindowAreForgotten() throws {
        let table = Self.table()
        let a = try Self.address("192.0.2.1")
        #expect(!table.recordFailure(a, now: Self.start))
        #expect(!table.recordFailure(a, now: Self.start + .seconds(1)))
        #expect(!table.recordFailure(a, now: Self.start + .seconds(61))) // a new window: its 1st
        #expect(!table.recordFailure(a, now: Self.start + .seconds(62)))
        #expect(table.recordFailure(a, now: Self.start + .seconds(63)))
    }

    /// Many addresses cannot grow the table: the longest known gives way.
    @Test func theTableKeepsItsSizeByForgettingTheLongestKnownAddress() throws {
        let table = Self.table(maxFailures: 1, capacity: 3)
        let addresses = try (1...5).map { try Self.address("192.0.2.\($0)") }
        for (index, address) in addresses.enumerated() {
            #expect(table.recordFailure(address, now: Self.start + .seconds(Int64(index))))
        }
        #expect(table.count == 3)
        #expect(table.blocked(addresses[0], now: Self.start + .seconds(5)) == nil)
        #expect(table.blocked(addresses[1], now: Self.start + .seconds(5)) == nil)
        #expect(table.blocked(addresses[4], now: Self.start + .seconds(5)) != nil)
    }

    @Test func zeroFailuresMeansNoLimit() throws {
        let table = Self.table(maxFailures: 0)
        let a = try Self.address("192.0.2.1")
        for second in 0..<100 { #expect(!table.recordFailure(a, now: Self.start + .seconds(Int64(second)))) }
        #expect(table.blocked(a, now: Self.start + .seconds(100)) == nil)
        #expect(table.count == 0)
    }
}
