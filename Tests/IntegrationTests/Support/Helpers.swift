import MSLP
import MSLPChannel
import MedsettleCore

extension TestEngine {
    /// Enrols a person through the agency (with a credit when `credit > 0`), issues a card at the
    /// window and activates it with `pin` at a pharmacy. Returns (id_no, card).
    func newCardholder(insurance: String = "employee", credit: Int = 0, pin: String = "470291",
                       activate: Bool = true) async throws -> (String, String) {
        let idNo = IDNumbers.fresh()
        try await withTerminal("G001-01") { agency in
            let enrolled = try await agency.request("ENROLL e1 id_no=\(idNo) name=Test insurance=\(insurance)")
            guard enrolled.ok else { throw TestFailure("enrol failed: \(enrolled)") }
            if credit > 0 {
                let credited = try await agency.request("CREDIT e2 trace=CR-\(idNo) id_no=\(idNo) amount=\(credit)")
                guard credited.ok else { throw TestFailure("credit failed: \(credited)") }
            }
        }
        let card = try await withTerminal("W001-01") { window in
            let issued = try await window.request("ISSUE w1 id_no=\(idNo)")
            guard issued.ok, let card = issued.value("card") else { throw TestFailure("issue failed: \(issued)") }
            return card
        }
        if activate {
            try await withTerminal("P001-01") { pharmacy in
                let changed = try await pharmacy.request("PINCHANGE p1 card=\(card) pin=123456 new=\(pin)")
                guard changed.ok else { throw TestFailure("PIN change failed: \(changed)") }
            }
        }
        return (idNo, card)
    }
}

extension MSLPConnection {
    /// The error code of the reply to `line` (nil for OK).
    func code(_ line: String) async throws -> ErrorCode? {
        try await request(line).errorCode
    }
}
