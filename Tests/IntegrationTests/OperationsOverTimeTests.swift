import Foundation
import MSLPChannel
import MedsettleStore
import NIOCore
import NIOPosix
import NIOSSL
import PGClient
import Testing

/// What a long-running engine needs: certificates renewed without a restart, the table of used QR
/// tokens kept small, and the metrics endpoint on loopback unless told otherwise.
@Suite struct OperationsOverTimeTests {
    /// `serve --tls-cert/--tls-key` with certificate A; the files are replaced with certificate B
    /// and the engine is sent SIGHUP: new connections get B (a client trusting only B gets through),
    /// the connection opened under A stays open and answers, and a client trusting only A no
    /// longer gets through. Two self-signed certificates made here with openssl.
    @Test func sighupReloadsTheCertificateForNewConnectionsOnly() async throws {
        let engine = try await TestEngine.start()
        let directory = try Self.temporaryDirectory("tls-reload")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["a", "b"] { try Self.selfSignedCertificate(named: name, in: directory) }
        let (certificate, key) = (directory + "/server.pem", directory + "/server.key")
        try Self.replace(certificate, with: directory + "/a.pem")
        try Self.replace(key, with: directory + "/a.key")
        let port = try ServeProcessTests().freePort()
        let process = try await ServeProcessTests.startServe(port: port, conninfo: engine.conninfo,
                                                            arguments: ["--tls-cert", certificate, "--tls-key", key])
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        let trustA = try MSLPClientTLS.context(caPath: directory + "/a.pem")
        let trustB = try MSLPClientTLS.context(caPath: directory + "/b.pem")
        func ping(trusting tls: NIOSSLContext) async -> Bool {
            (try? await MSLPClient.withConnection(host: "127.0.0.1", port: port, tls: tls) { try await $0.request("PING n").ok }) == true
        }
        #expect(await !ping(trusting: trustB))

        try await MSLPClient.withConnection(host: "127.0.0.1", port: port, tls: trustA) { before in
            #expect(try await before.request("PING a1").ok)
            try Self.replace(certificate, with: directory + "/b.pem")
            try Self.replace(key, with: directory + "/b.key")
            kill(process.processIdentifier, SIGHUP)
            var reloaded = false
            for _ in 0..<100 where !reloaded {
                reloaded = await ping(trusting: trustB)
                if !reloaded { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(reloaded, "no connection presented the new certificate after SIGHUP")
            #expect(try await before.request("PING a2").ok, "the connection opened before the reload was dropped")
        }
        #expect(await !ping(trusting: trustA))
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        await engine.stop()
    }

    /// A renewal that cannot be read (a key that is not a key) leaves the current certificate in
    /// place: after SIGHUP new connections still get it.
    @Test func aBrokenRenewalKeepsTheCurrentCertificate() async throws {
        let engine = try await TestEngine.start()
        let directory = try Self.temporaryDirectory("tls-broken")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.selfSignedCertificate(named: "a", in: directory)
        let (certificate, key) = (directory + "/server.pem", directory + "/server.key")
        try Self.replace(certificate, with: directory + "/a.pem")
        try Self.replace(key, with: directory + "/a.key")
        let trustA = try MSLPClientTLS.context(caPath: directory + "/a.pem")
        let port = try ServeProcessTests().freePort()
        let process = try await ServeProcessTests.startServe(port: port, conninfo: engine.conninfo,
                                                            arguments: ["--tls-cert", certificate, "--tls-key", key])
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        try "not a key\n".write(toFile: key, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        // The reload runs on a signal queue: give it the time several new connections take.
        for tag in 0..<5 {
            let ok = try await MSLPClient.withConnection(host: "127.0.0.1", port: port, tls: trustA) { try await $0.request("PING b\(tag)").ok }
            #expect(ok)
        }
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        await engine.stop()
    }

    /// `QRUsePurge` deletes, in batches of at most the limit, only the rows of tokens that expired
    /// more than `margin` seconds ago by the engine's clock; tokens still valid or just expired stay.
    @Test func expiredUsedQRTokensArePurgedInBatches() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder()
        let now = engine.clock.now()
        try Self.insertUsedTokens(engine, card: card, count: 7, expires: now - QRUsePurge.margin - 600, first: 1)
        try Self.insertUsedTokens(engine, card: card, count: 2, expires: now - 10, first: 100)
        try Self.insertUsedTokens(engine, card: card, count: 3, expires: now + 30, first: 200)
        let purge = QRUsePurge(pool: engine.pool, clock: engine.clock)
        #expect(try purge.purgeBatch(limit: 3) == 3)
        #expect(try purge.purgeBatch(limit: 3) == 3)
        #expect(try purge.purgeBatch(limit: 3) == 1)
        #expect(try purge.purgeBatch(limit: 3) == 0)
        #expect(try engine.scalar("SELECT count(*) FROM qr_use") == 5)
        // Time passes: the recently expired and the then valid ones go too.
        _ = engine.clock.advance(by: QRUsePurge.margin + 60)
        #expect(try purge.purgeBatch(limit: 100) == 5)
        #expect(try engine.scalar("SELECT count(*) FROM qr_use") == 0)
        await engine.stop()
    }

    /// `serve` runs the purge in the background (`--qr-purge-interval`, `--qr-purge-batch`) and
    /// counts it in `medsettle_qr_uses_purged_total`; `--metrics` given a bare port listens on
    /// 127.0.0.1 alone (another loopback address finds nothing there).
    @Test func servePurgesInTheBackgroundAndServesMetricsOnLoopback() async throws {
        let engine = try await TestEngine.start()
        let (_, card) = try await engine.newCardholder()
        // serve runs on the real clock.
        let realNow = Int64(Date().timeIntervalSince1970)
        try Self.insertUsedTokens(engine, card: card, count: 5, expires: realNow - QRUsePurge.margin - 3_600, first: 1)
        try Self.insertUsedTokens(engine, card: card, count: 2, expires: realNow + 3_600, first: 100)
        let port = try ServeProcessTests().freePort()
        let metricsPort = try ServeProcessTests().freePort()
        let process = try await ServeProcessTests.startServe(port: port, conninfo: engine.conninfo,
                                                             arguments: ["--metrics", "\(metricsPort)", "--qr-purge-interval", "1", "--qr-purge-batch", "2"])
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        var purged = false
        for _ in 0..<200 where !purged {
            let text = (try? await TestAdmin.get(port: metricsPort, path: "/metrics"))?.text ?? ""
            purged = text.contains("medsettle_qr_uses_purged_total 5")
            if !purged { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(purged, "the purge did not count 5 rows")
        #expect(try engine.scalar("SELECT count(*) FROM qr_use") == 2)
        let elsewhere = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.2", port: metricsPort).get()
        #expect(elsewhere == nil, "the metrics endpoint answers on 127.0.0.2")
        try? await elsewhere?.close()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        await engine.stop()
    }

    // MARK: - Helpers

    static func temporaryDirectory(_ purpose: String) throws -> String {
        let path = NSTemporaryDirectory() + "medsettle-\(purpose)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// NAME.pem and NAME.key: a self-signed ECDSA P-256 certificate for 127.0.0.1 (its own CA).
    static func selfSignedCertificate(named name: String, in directory: String) throws {
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem", "-days", "2",
                             "-subj", "/CN=medsettle reload test \(name)",
                             "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw TestFailure("openssl failed to make certificate \(name)") }
    }

    /// Puts a copy of `source` at `path` in one rename, as a certificate renewal would.
    static func replace(_ path: String, with source: String) throws {
        let staged = path + ".new"
        try? FileManager.default.removeItem(atPath: staged)
        try FileManager.default.copyItem(atPath: source, toPath: staged)
        guard rename(staged, path) == 0 else { throw TestFailure("rename to \(path) failed") }
    }

    /// `count` used-token rows for `card`, expiring at `expires` (unix seconds), with token ids
    /// numbered from `first`.
    static func insertUsedTokens(_ engine: TestEngine, card: String, count: Int, expires: Int64, first: Int) throws {
        let inserted = try engine.scalar("""
            WITH ins AS (
                INSERT INTO qr_use (token_id, card_no, expires_at)
                SELECT decode(lpad(to_hex(n), 24, '0'), 'hex'), $1, to_timestamp($2::bigint)
                FROM generate_series($3::int, $3::int + $4::int - 1) n
                RETURNING 1)
            SELECT count(*) FROM ins
            """, [card, expires, first, count])
        guard inserted == Int64(count) else { throw TestFailure("inserted \(inserted ?? -1) of \(count) used tokens") }
    }
}
