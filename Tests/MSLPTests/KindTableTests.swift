import Testing
@testable import MSLP
import MedsettleCore

@Suite("Which kinds may use which verb")
struct KindTableTests {
    /// PROTOCOL.md "Session" and "Verbs by kind", written out independently of the implementation.
    static let expected: [Verb: Set<TerminalKind>] = [
        .ping: Set(TerminalKind.allCases),
        .signIn: Set(TerminalKind.allCases),
        .signOut: Set(TerminalKind.allCases),
        .cardInfo: [.pharmacy, .hospital, .window],
        .pinChange: [.pharmacy, .hospital, .window],
        .price: [.pharmacy, .hospital],
        .settle: [.pharmacy, .hospital],
        .cancel: [.pharmacy, .hospital],
        .reverse: [.pharmacy, .hospital],
        .query: [.pharmacy, .hospital],
        .admit: [.hospital],
        .fees: [.hospital],
        .discharge: [.hospital],
        .feesUndo: [.hospital],
        .admitCancel: [.hospital],
        .recon: [.pharmacy, .hospital],
        .enroll: [.agency],
        .credit: [.agency],
        .issue: [.window, .online],
        .unlock: [.window],
        .pinReset: [.window],
        .reportLost: [.window, .hotline, .online],
        .unlost: [.window],
        .replace: [.window, .online],
        .cancelCard: [.window],
        .personUpdate: [.window, .agency],
        .familyBind: [.window, .agency],
        .familyUnbind: [.window, .agency],
        .qrCode: [.online],
        .itemInfo: [.pharmacy, .hospital],
    ]

    @Test func table_covers_every_verb() {
        #expect(Set(Self.expected.keys) == Set(Verb.allCases))
        #expect(Verb.allCases.count == 30)
    }

    @Test(arguments: Verb.allCases)
    func verb_for_every_kind(_ verb: Verb) {
        for kind in TerminalKind.allCases {
            #expect(verb.isAllowed(for: kind) == Self.expected[verb]!.contains(kind), "\(verb) for \(kind)")
        }
        #expect(Set(verb.allowedKinds) == Self.expected[verb]!)
    }

    @Test func session_verbs() {
        #expect(Verb.allCases.filter(\.isSessionVerb) == [.ping, .signIn, .signOut])
        #expect(Verb.allCases.filter(\.isAllowedBeforeSignIn) == [.ping, .signIn])
    }

    @Test func raw_values_and_names() {
        #expect(Verb.reportLost.rawValue == "REPORTLOST")
        #expect(Verb.cancelCard.rawValue == "CANCELCARD")
        #expect(Verb.personUpdate.rawValue == "PERSONUPDATE")
        #expect(Verb.pinChange.rawValue == "PINCHANGE")
        #expect(Verb.pinReset.rawValue == "PINRESET")
        #expect(Verb.qrCode.rawValue == "QRCODE")
        #expect(Verb.signIn.rawValue == "SIGNIN")
        #expect(Verb.signOut.rawValue == "SIGNOUT")
        #expect(Verb.cardInfo.rawValue == "CARDINFO")
        #expect(Verb.feesUndo.rawValue == "FEESUNDO")
        #expect(Verb.admitCancel.rawValue == "ADMITCANCEL")
        #expect(Verb.lookup("feesundo") == .feesUndo)
        #expect(Verb.lookup("reportlost") == .reportLost)
        #expect(Verb.lookup("report") == nil)
        #expect(Verb.lookup("PING1") == nil)
    }
}
