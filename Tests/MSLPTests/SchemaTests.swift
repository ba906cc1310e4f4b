import Testing
@testable import MSLP
import MedsettleCore

/// The message of validating `line` (parsed first), or `nil` if the keys fit.
private func problem(_ line: String, kind: TerminalKind? = nil) throws -> String? {
    let r = try #require(request(line), "line must parse: \(line)")
    guard let f = r.validate(kind: kind) else { return nil }
    #expect(f.code == .badRequest)
    #expect(f.tag == r.tag)
    return f.message
}

@Suite("Keys against each verb's schema")
struct SchemaTests {
    @Test func valid_lines_of_every_verb() throws {
        let lines = [
            "PING t",
            "SIGNIN t terminal=P001-01 mac=ab",
            "SIGNOUT t",
            "CARDINFO t card=H00000001 pin=123456",
            "CARDINFO t qr=tok",
            "PINCHANGE t card=H00000001 pin=123456 new=135790",
            "PRICE t card=H00000001 pin=123456 items=A*1@1",
            "PRICE t qr=tok items=A*1@1 visit=pharmacy",
            "PRICE t admission=A1",
            "SETTLE t trace=1 card=H00000001 pin=123456 items=A*1@1",
            "SETTLE t items=A*1@1 use_account=0 visit=outpatient qr=x trace=1",
            "CANCEL t trace=1 settlement=S1",
            "REVERSE t trace=1",
            "QUERY t trace=1",
            "ADMIT t trace=1 qr=x",
            "ADMIT t trace=1 card=H00000001 pin=123456 ward=W3",
            "FEES t trace=1 admission=A1 items=A*1@1",
            "DISCHARGE t trace=1 admission=A1 card=H00000001 pin=123456 use_account=1",
            "FEESUNDO t trace=2 admission=A1 of=1",
            "ADMITCANCEL t trace=1 admission=A1",
            "RECON t date=20261129 count=1 total=1 fund=0 account=1 cash=0",
            "RECON t date=20261129 count=1 total=1 fund=0 account=1 cash=0 scope=institution",
            "ENROLL t id_no=1 name=n insurance=employee",
            "ENROLL t id_no=1 name=n insurance=resident area=330100",
            "CREDIT t trace=1 id_no=1 amount=100",
            "ISSUE t id_no=1",
            "ISSUE t id_no=1 agent_id=2",
            "UNLOCK t card=H00000001 id_no=1",
            "PINRESET t card=H00000001 id_no=1 agent_id=2",
            "REPORTLOST t card=H00000001 id_no=1",
            "UNLOST t card=H00000001 id_no=1",
            "REPLACE t card=H00000001 id_no=1 reason=lost",
            "CANCELCARD t card=H00000001 id_no=1 reason=death agent_id=2",
            "PERSONUPDATE t id_no=1",
            "PERSONUPDATE t id_no=1 name=n new_id_no=2 agent_id=3",
            "QRCODE t card=H00000001",
            "ITEMINFO t code=A001",
            "FAMILYBIND t id_no=1 member=2 relation=child",
            "FAMILYBIND t id_no=1 member=2 relation=child agent_id=3",
            "FAMILYUNBIND t id_no=1 member=2",
        ]
        var covered = Set<Verb>()
        for line in lines {
            #expect(try problem(line) == nil, "\(line)")
            covered.insert(try #require(request(line)).verb)
        }
        #expect(covered == Set(Verb.allCases))
    }

    @Test(arguments: [
        ("PING t foo=1", "unknown key foo"),
        ("SIGNOUT t x=", "unknown key x"),
        ("SIGNIN t terminal=a", "missing key mac"),
        ("SIGNIN t mac=a terminal=b extra=1", "unknown key extra"),
        ("QUERY t", "missing key trace"),
        ("QUERY t trace=1 settlement=2", "unknown key settlement"),
        ("CANCEL t trace=1", "missing key settlement"),
        ("SETTLE t card=H00000001 pin=123456 items=A*1@1", "missing key trace"),
        ("SETTLE t trace=1 card=H00000001 pin=123456", "missing key items"),
        ("SETTLE t trace=1 items=A*1@1", "missing key card (or qr)"),
        ("FEES t trace=1 admission=A items=A*1@1 visit=outpatient", "unknown key visit"),
        ("DISCHARGE t trace=1 admission=A qr=x visit=outpatient", "unknown key visit"),
        ("FEESUNDO t trace=2 admission=A1", "missing key of"),
        ("FEESUNDO t trace=2 of=1", "missing key admission"),
        ("FEESUNDO t trace=2 admission=A1 of=1 items=A*1@1", "unknown key items"),
        ("ADMITCANCEL t admission=A1", "missing key trace"),
        ("ADMITCANCEL t trace=1 admission=A1 card=H00000001", "unknown key card"),
        ("RECON t date=20261129 count=1 total=1 fund=0 account=1", "missing key cash"),
        ("ENROLL t id_no=1 name=n", "missing key insurance"),
        ("CREDIT t id_no=1 amount=1", "missing key trace"),
        ("ISSUE t", "missing key id_no"),
        ("ISSUE t id_no=1 card=H00000001", "unknown key card"),
        ("REPLACE t card=H00000001 id_no=1", "missing key reason"),
        ("UNLOCK t card=H00000001 id_no=1 reason=lost", "unknown key reason"),
        ("PERSONUPDATE t name=n", "missing key id_no"),
        ("FAMILYBIND t id_no=1 member=2", "missing key relation"),
        ("FAMILYBIND t id_no=1 relation=child", "missing key member"),
        ("FAMILYUNBIND t id_no=1 member=2 relation=child", "unknown key relation"),
        ("QRCODE t card=H00000001 pin=123456", "unknown key pin"),
        ("PINCHANGE t card=H00000001 pin=123456", "missing key new"),
        ("PINCHANGE t qr=x new=135790", "unknown key qr"),
    ])
    func refused(_ line: String, _ message: String) throws {
        #expect(try problem(line) == message)
    }

    @Test(arguments: [
        ("CARDINFO t card=H00000001", "missing key pin"),
        ("CARDINFO t pin=123456", "missing key card"),
        ("CARDINFO t", "missing key card (or qr)"),
        ("CARDINFO t card=H00000001 pin=123456 qr=x", "give card and pin, or qr, not both"),
        ("CARDINFO t card=H00000001 qr=x", "give card and pin, or qr, not both"),
        ("CARDINFO t pin=123456 qr=x", "give card and pin, or qr, not both"),
        ("ADMIT t trace=1 card=H00000001", "missing key pin"),
        ("SETTLE t trace=1 qr=x pin=123456 items=A*1@1", "give card and pin, or qr, not both"),
    ])
    func cred_forms(_ line: String, _ message: String) throws {
        #expect(try problem(line) == message)
    }

    @Test func unknown_key_is_reported_before_missing_ones() throws {
        #expect(try problem("SETTLE t foo=1") == "unknown key foo")
    }

    @Test func price_has_two_forms() throws {
        #expect(try problem("PRICE t admission=A1", kind: .hospital) == nil)
        #expect(try problem("PRICE t qr=x items=A*1@1", kind: .hospital) == nil)
        #expect(try problem("PRICE t qr=x items=A*1@1", kind: .pharmacy) == nil)
        // The admission form is the hospital's only.
        #expect(try problem("PRICE t admission=A1", kind: .pharmacy) == "unknown key admission")
        // Mixing the forms names the stray key of the more likely form.
        #expect(try problem("PRICE t admission=A1 items=A*1@1") == "unknown key admission")
        #expect(try problem("PRICE t admission=A1 qr=x items=A*1@1") == "unknown key admission")
        #expect(try problem("PRICE t admission=A1 visit=outpatient") == "unknown key admission")
        #expect(try problem("PRICE t qr=x") == "missing key items")
        #expect(try problem("PRICE t") == "missing key card (or qr)")
    }

    @Test func schema_reports_the_keys_it_takes() {
        let form = Verb.settle.schema.forms[0]
        #expect(form.takesCred)
        for key in ["trace", "card", "pin", "qr", "items", "visit", "use_account"] { #expect(form.accepts(key)) }
        #expect(!form.accepts("admission"))
        #expect(Verb.pinChange.schema.forms[0].takesCred == false)
        #expect(Verb.price.schema.forms.count == 2)
    }

    @Test func validation_via_schema_and_via_request_agree() throws {
        let r = try #require(request("QUERY t x=1"))
        #expect(Verb.query.schema.validate(r) == r.validate())
    }
}
