import PGClient
import MSLP
import MSLPChannel
import MedsettleCore

extension TestEngine {
    /// Enrols a person through the agency (with a credit when `credit > 0`), issues a card at the
    /// window and activates it with `pin` at a pharmacy. Returns (id_no, card).
    func newCardholder(insurance: String = "employee", credit: Int = 0, pin: String = "470291",
                       activate: Bool = true, assist: Bool = false) async throws -> (String, String) {
        let idNo = IDNumbers.fresh()
        try await withTerminal("G001-01") { agency in
            let enrolled = try await agency.request("ENROLL e1 id_no=\(idNo) name=Test insurance=\(insurance)" + (assist ? " assist=1" : ""))
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

    /// Binds `member` to `payer` for family mutual aid at the window (FAMILYBIND).
    func bindFamily(payer: String, member: String, relation: String) async throws {
        try await withTerminal("W001-01") { window in
            let bound = try await window.request("FAMILYBIND f id_no=\(payer) member=\(member) relation=\(relation)")
            guard bound.ok else { throw TestFailure("FAMILYBIND failed: \(bound)") }
        }
    }
}

extension MSLPConnection {
    /// The error code of the reply to `line` (nil for OK).
    func code(_ line: String) async throws -> ErrorCode? {
        try await request(line).errorCode
    }
}

/// Losing a connection at COMMIT on purpose: a deferred trigger keeps COMMIT waiting, and the
/// test terminates the backend that waits.
enum LostCommits {
    /// Makes every COMMIT of a transaction that did `event` (INSERT, UPDATE) on `table` sleep
    /// `seconds` in a deferred trigger, until a row is put into `slow_gate` (`openGate`).
    static func slowCommits(_ admin: PGConnection, after event: String, on table: String, seconds: Int = 5) throws {
        try admin.execute("""
            CREATE TABLE slow_gate (open boolean);
            CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM slow_gate) THEN PERFORM pg_sleep(\(seconds)); END IF;
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER slow_commit AFTER \(event) ON \(table) DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION slow_commit();
            """)
    }

    static func openGate(_ admin: PGConnection) throws {
        try admin.execute("INSERT INTO slow_gate VALUES (true)")
    }

    /// Terminates the backend of this database that waits in `waitEvent` (`PgSleep` for
    /// `slowCommits`, `SyncRep` for a synchronous standby that never answers), looking every
    /// 50 ms for up to 30 s (a busy machine may start the work late); how many it terminated.
    static func terminateWaiting(_ admin: PGConnection, on waitEvent: String = "PgSleep") async throws -> Int64 {
        for _ in 0..<600 {
            try await Task.sleep(for: .milliseconds(50))
            let terminated = try admin.query("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event = $1
                """, [waitEvent]).requireInt64(0, 0)
            if terminated > 0 { return terminated }
        }
        return 0
    }
}
