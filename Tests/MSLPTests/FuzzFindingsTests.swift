import Testing
@testable import MSLP
import MedsettleCore

/// Inputs that broke an invariant of a fuzz target (fuzz/README.md), kept as regression tests.
/// Each names the target and the invariant that failed.
@Suite("Fuzz findings")
struct FuzzFindingsTests {
    /// reply target, "a trailing CR LF changes the greeting": the seed greeting plus CR LF read as
    /// `nil`, because CR LF is one `Character` and `String.hasSuffix("\n")` does not see its LF.
    @Test func greeting_tolerates_a_trailing_cr_lf() throws {
        let line = Array("* HELLO proto=MSLP/1 challenge=9f2c00112233445566778899aabbccdd".utf8)
        let g = try #require(Greeting.parse(line))
        #expect(g.challenge == "9f2c00112233445566778899aabbccdd")
        #expect(Greeting.parse(line + [0x0D, 0x0A]) == g)
        #expect(Greeting.parse(line + [0x0A]) == g)
        #expect(Greeting.parse(line + [0x0D]) == g)
        #expect(Greeting.parse(line + [0x0D, 0x0A, 0x0D, 0x0A]) == g)
    }
}
