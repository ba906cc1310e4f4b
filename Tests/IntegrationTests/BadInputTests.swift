import MSLP
import MSLPChannel
import MedsettleCore
import Testing

/// Every kind of bad input gets a clear code and changes nothing.
// A bound against hangs, not a speed target: a machine shared with builds takes minutes here.
@Suite(.timeLimit(.minutes(5)))
struct BadInputTests {
    static let card = "card=\(Demo.employeeCard) pin=\(Demo.employeePIN)"
    static let validID = "110105198001010016"

    /// (terminal, line, expected code); the line's tag is `t1` where readable.
    static let cases: [(String, String, ErrorCode)] = [
        ("P001-01", "SETTLE t1 trace=B1 \(card)", .badRequest),                                   // missing items
        ("P001-01", "SETTLE t1 \(card) items=A001*1@100", .badRequest),                           // missing trace
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=A001*1@100 colour=red", .badRequest),       // unknown key
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=A001*1@100 items=A001*1@100", .badRequest), // duplicate key
        ("P001-01", "SETTLE t1 trace=B1 card=\(Demo.employeeCard) items=A001*1@100", .badRequest), // card without pin
        ("P001-01", "SETTLE t1 trace=B1 \(card) qr=abc items=A001*1@100", .badRequest),          // both credentials
        ("P001-01", "SETTLE t1 trace=B1 card=h00000017 pin=246810 items=A001*1@100", .badRequest), // bad card syntax
        ("P001-01", "SETTLE t1 trace=B1 card=H00000017 pin=24681 items=A001*1@100", .badRequest),  // short PIN
        ("P001-01", "SETTLE t1 trace=B1 card=H00000017 pin=24681a items=A001*1@100", .badRequest), // PIN not digits
        ("P001-01", "SETTLE t1 trace=B%201 \(card) items=A001*1@100", .badRequest),               // trace with space
        ("P001-01", "SETTLE t1 trace=\(String(repeating: "x", count: 33)) \(card) items=A001*1@100", .badRequest),
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=A001*0@100", .badRequest),                  // zero quantity
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=A001*1.2345@100", .badRequest),             // 4 decimals
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=A001*1@-100", .badRequest),                 // negative price
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=A001*1@100;", .badRequest),                 // trailing ;
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=", .badRequest),                            // empty list
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=A001x1@100", .badRequest),                  // no *
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=" + Array(repeating: "A001*1@100", count: 201).joined(separator: ";"), .tooManyItems),
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=Q001*1@100", .unknownItem),
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=A001*1@100 visit=outpatient", .badRequest), // pharmacy visit only
        ("P001-01", "SETTLE t1 trace=B1 \(card) items=A001*1@100 use_account=2", .badRequest),
        ("P001-01", "SETTLE t1 trace=B1 card=Z99999999 pin=246810 items=A001*1@100", .cardNotFound),
        ("P001-01", "PRICE t1 \(card) admission=A1", .badRequest),                                // hospital-only form
        ("P001-01", "CARDINFO t1 \(card) x=%ZZ", .badRequest),                                    // bad escape
        ("P001-01", "CARDINFO t1  \(card)", .badRequest),                                         // double space
        ("P001-01", "CARDINFO t1 \(card) ", .badRequest),                                         // trailing space
        ("P001-01", "CARDINFO t1 Card=H00000017 pin=246810", .badRequest),                        // key case
        ("P001-01", "CAR-DINFO t1 \(card)", .badRequest),                                         // verb not letters
        ("P001-01", "ENROLL t1 id_no=\(validID) name=x insurance=employee", .forbidden),
        ("G001-01", "ENROLL t1 id_no=11010519800101001X name=x insurance=employee", .badIdNo),
        ("G001-01", "ENROLL t1 id_no=1101051980010100 name=x insurance=employee", .badIdNo),
        ("G001-01", "ENROLL t1 id_no=\(IDNumbers.fresh()) name= insurance=employee", .badRequest),
        ("G001-01", "ENROLL t1 id_no=\(IDNumbers.fresh()) name=\(String(repeating: "名", count: 65)) insurance=employee", .badRequest),
        ("G001-01", "ENROLL t1 id_no=\(IDNumbers.fresh()) name=a%0Ab insurance=employee", .badRequest),
        ("G001-01", "ENROLL t1 id_no=\(IDNumbers.fresh()) name=x insurance=farmer", .badRequest),
        ("G001-01", "ENROLL t1 id_no=\(IDNumbers.fresh()) name=x insurance=employee area=12345", .badRequest),
        ("G001-01", "ENROLL t1 id_no=\(validID) name=x insurance=employee", .personExists),
        ("G001-01", "CREDIT t1 trace=C1 id_no=\(validID) amount=0", .badRequest),
        ("G001-01", "CREDIT t1 trace=C1 id_no=\(validID) amount=-5", .badRequest),
        ("G001-01", "CREDIT t1 trace=C1 id_no=\(validID) amount=1.5", .badRequest),
        ("G001-01", "CREDIT t1 trace=C1 id_no=\(validID) amount=100000001", .badRequest),
        ("G001-01", "CREDIT t1 trace=C1 id_no=\(IDNumbers.fresh()) amount=100", .personNotFound),
        ("W001-01", "ISSUE t1 id_no=\(validID)", .cardExists),
        ("W001-01", "ISSUE t1 id_no=\(IDNumbers.fresh())", .personNotFound),
        ("W001-01", "ISSUE t1 id_no=\(validID) agent_id=123", .badIdNo),
    ]

    @Test func everyBadInputIsRefusedAndChangesNothing() async throws {
        let engine = try await TestEngine.start()
        let before = try snapshot(engine)
        for (terminal, line, expected) in Self.cases {
            try await engine.withTerminal(terminal) { (c: MSLPConnection) async throws -> Void in
                let reply = try await c.request(line)
                #expect(reply.errorCode == expected, "\(line.prefix(120)) → \(reply)")
                #expect(reply.tag == "t1")
                #expect(reply.message?.isEmpty == false)
            }
        }
        #expect(try snapshot(engine) == before)
        await engine.stop()
    }

    /// Lines whose tag cannot be read are answered with tag `*`.
    @Test func unreadableTagsAnswerStar() async throws {
        let engine = try await TestEngine.start()
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            for line in ["PING", "PING t!x", "PING \(String(repeating: "t", count: 33))", " PING t1", "PING\tt1"] {
                let reply = try await c.request(line)
                #expect(reply.tag == "*" && reply.errorCode == .badRequest, "\(line) → \(reply)")
            }
            try await c.send(raw: [0x50, 0x49, 0x4E, 0x47, 0x20, 0x74, 0x31, 0x20, 0x78, 0x3D, 0xFF, 0x0A])
            let invalidUTF8 = try await c.readReply()
            #expect(invalidUTF8.errorCode == .badRequest)
            #expect(try await c.request("PING t2").ok)
        }
        await engine.stop()
    }

    func snapshot(_ engine: TestEngine) throws -> [Int64?] {
        try ["SELECT sum(balance) FROM person", "SELECT count(*) FROM person", "SELECT count(*) FROM card",
             "SELECT sum(wrong_count) FROM card", "SELECT count(*) FROM settlement", "SELECT count(*) FROM trace",
             "SELECT count(*) FROM account_credit", "SELECT count(*) FROM card_event", "SELECT count(*) FROM accumulator"]
            .map { try engine.scalar($0) }
    }
}
