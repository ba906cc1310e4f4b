import MSLP
import MSLPChannel
import MedsettleCore
import MedsettleStore
import Testing

/// The e-card payment QR (RULES.md §3): signed, expiring, single use across server processes.
@Suite(.timeLimit(.minutes(2)))
struct QRTests {
    func qr(_ engine: TestEngine, card: String = Demo.employeeCard) async throws -> String {
        try await engine.withTerminal("O001-01") { c in
            let reply = try await c.request("QRCODE t card=\(card)")
            guard let token = reply.value("qr") else { throw TestFailure("no QR: \(reply)") }
            return token
        }
    }

    @Test func tokensAreOpaqueURLSafeAndStandInForCardAndPIN() async throws {
        let engine = try await TestEngine.start()
        let token = try await qr(engine)
        #expect(token.utf8.allSatisfy { $0 == 0x2D || $0 == 0x5F || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) })
        // Opaque: the card number is encrypted, not merely encoded.
        #expect(token.utf8.count == 62)
        #expect(!token.contains("SDAwMDAwMDE3") && !token.contains("gwMDAwMDAxN") && !token.contains("IMDAwMDAwMTc"))
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            // CARDINFO and PRICE do not consume it.
            let info = try await c.request("CARDINFO t qr=\(token)")
            #expect(info.ok && info.value("card") == Demo.employeeCard)
            #expect(try await c.request("PRICE t qr=\(token) items=A001*1@1000").ok)
            #expect(try await c.request("SETTLE t trace=Q1 qr=\(token) items=A001*1@1000").ok)
            // A repeat of the same request is a repeat, not a second use.
            let repeated = try await c.request("SETTLE t trace=Q1 qr=\(token) items=A001*1@1000")
            #expect(repeated.ok && repeated.value("repeat") == "1")
            let used = try await c.code("CARDINFO t qr=\(token)")
            #expect(used == .qrUsed)
        }
        #expect(try engine.scalar("SELECT count(*) FROM settlement") == 1)
        await engine.stop()
    }

    @Test func tamperedTruncatedAndForeignTokensAreInvalid() async throws {
        let engine = try await TestEngine.start()
        let token = try await qr(engine)
        var flipped = Array(token.utf8)
        flipped[20] = flipped[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let foreign = QRTokens(keys: [Array(repeating: 7, count: 32)]).issue(cardNo: Demo.employeeCard, now: TestEngine.defaultNow).token
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            for bad in [String(decoding: flipped, as: UTF8.self), String(token.dropLast(3)), foreign, "abc", "!!!!"] {
                let reply = try await c.code("SETTLE t trace=BAD qr=\(bad) items=A001*1@1000")
                #expect(reply == .qrInvalid, "\(bad)")
            }
            #expect(try await c.request("SETTLE t trace=GOOD qr=\(token) items=A001*1@1000").ok)
        }
        await engine.stop()
    }

    @Test func tokensExpire() async throws {
        let engine = try await TestEngine.start()
        let token = try await qr(engine)
        engine.clock.advance(by: 60)
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("CARDINFO t qr=\(token)").ok)
            engine.clock.advance(by: 1)
            let expired = try await c.code("SETTLE t trace=E1 qr=\(token) items=A001*1@1000")
            #expect(expired == .qrExpired)
        }
        await engine.stop()
    }

    /// The card's own rules apply, and a refused settlement does not burn the token.
    @Test func cardStatusRulesApplyAndRefusalsDoNotConsume() async throws {
        let engine = try await TestEngine.start()
        let (idNo, card) = try await engine.newCardholder(credit: 5_000)
        let token = try await qr(engine, card: card)
        try await engine.withTerminal("W001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("REPORTLOST t card=\(card) id_no=\(idNo)").ok)
        }
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let lost = try await c.code("SETTLE t trace=L1 qr=\(token) items=A001*1@1000")
            #expect(lost == .cardLost)
        }
        try await engine.withTerminal("O001-01") { (c: MSLPConnection) async throws -> Void in
            let refused = try await c.code("QRCODE t card=\(card)")
            #expect(refused == .cardLost)
        }
        try await engine.withTerminal("W001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("UNLOST t card=\(card) id_no=\(idNo)").ok)
        }
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("SETTLE t trace=L2 qr=\(token) items=A001*1@1000").ok)
        }
        // A PENDING card gets no token, and a replaced card's token answers CARD_REPLACED.
        let (pendingID, pending) = try await engine.newCardholder(activate: false)
        try await engine.withTerminal("O001-01") { (c: MSLPConnection) async throws -> Void in
            let refused = try await c.code("QRCODE t card=\(pending)")
            #expect(refused == .pinChangeRequired)
        }
        let (replacedID, replaced) = try await engine.newCardholder()
        let oldToken = try await qr(engine, card: replaced)
        try await engine.withTerminal("O001-01") { (c: MSLPConnection) async throws -> Void in
            #expect(try await c.request("REPLACE t card=\(replaced) id_no=\(replacedID) reason=damaged").ok)
        }
        try await engine.withTerminal("P001-01") { (c: MSLPConnection) async throws -> Void in
            let stale = try await c.code("SETTLE t trace=R1 qr=\(oldToken) items=A001*1@1000")
            #expect(stale == .cardReplaced)
        }
        _ = pendingID
        await engine.stop()
    }

    /// Two server processes' worth of fronts on one database: the same token presented to both
    /// at once is honoured exactly once.
    @Test func singleUseAcrossTwoServers() async throws {
        let first = try await TestEngine.start()
        let second = try await TestEngine.start(sharing: first)
        for round in 0..<5 {
            let token = try await qr(first)
            let replies = try await withThrowingTaskGroup(of: ReplyLine.self) { group in
                for (i, engine) in [first, second, first, second].enumerated() {
                    group.addTask {
                        try await engine.withTerminal(i % 2 == 0 ? "P001-01" : "P002-01") { c in
                            try await c.request("SETTLE t trace=TWO\(round)-\(i) qr=\(token) items=A001*1@1000")
                        }
                    }
                }
                var all: [ReplyLine] = []
                for try await reply in group { all.append(reply) }
                return all
            }
            #expect(replies.filter(\.ok).count == 1)
            #expect(replies.filter { $0.errorCode == .qrUsed }.count == 3)
        }
        #expect(try first.scalar("SELECT count(*) FROM settlement") == 5)
        #expect(try first.scalar("SELECT count(*) FROM qr_use") == 5)
        await second.stop()
        await first.stop()
    }
}

/// Rotating the QR key: tokens made with the previous key stay valid while it is configured.
@Suite struct QRKeyRotationTests {
    @Test func previousKeyIsAcceptedUntilDropped() throws {
        let old = QRTokens(keys: [Array(repeating: 1, count: 32)])
        let rotated = QRTokens(keys: [Array(repeating: 2, count: 32), Array(repeating: 1, count: 32)])
        let dropped = QRTokens(keys: [Array(repeating: 2, count: 32)])
        let token = old.issue(cardNo: "H00000017", now: 1_000).token
        #expect(try rotated.verify(token, now: 1_010).get().cardNo == "H00000017")
        #expect(dropped.verify(token, now: 1_010) == .failure(.qrInvalid))
        let fresh = rotated.issue(cardNo: "H00000018", now: 1_000).token
        #expect(try dropped.verify(fresh, now: 1_000).get().cardNo == "H00000018")
        #expect(old.verify(fresh, now: 1_000) == .failure(.qrInvalid))
    }
}
