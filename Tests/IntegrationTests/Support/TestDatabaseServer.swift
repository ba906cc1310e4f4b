import Foundation
import LocalPostgres
import Logging
import MedsettleStore
import PGClient

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL the integration tests run against: `DATABASE_URL` when given, else a throwaway
/// cluster (initdb + pg_ctl in a temp dir, fsync off) started once per test process and stopped
/// and deleted when the process exits.
///
/// Every test engine gets its own database, cloned from a template that holds the migrated schema
/// and the demo data set, so tests run in parallel without seeing each other's rows.
final class TestDatabaseServer: Sendable {
    static let shared: TestDatabaseServer = {
        do { return try TestDatabaseServer() } catch { fatalError("cannot start the test PostgreSQL: \(error)") }
    }()

    /// The fixed server secret of the tests (the template's terminal keys are sealed under it).
    static let secretHex = String(repeating: "5eed", count: 16)
    static let templateName = "medsettle_test_template"

    private let adminConninfo: String
    private let conninfoFor: @Sendable (String) -> String
    private let counter = NSLock()
    nonisolated(unsafe) private var created = 0
    let secrets: ServerSecrets

    private init() throws {
        // Engines started with their default loggers log each request at `info`: in the test
        // output only warnings and worse are worth reading (tests that read logs bring their own).
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        secrets = try ServerSecrets(hex: Self.secretHex)
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            adminConninfo = url
            conninfoFor = { Self.conninfo(url, database: $0) }
        } else {
            ClusterCleanup.reapOrphans()
            let directory = try Self.makeTempDirectory()
            let cluster = try LocalCluster.prepare(directory: directory, durable: false)
            try cluster.start()
            ClusterCleanup.register(cluster)
            adminConninfo = cluster.conninfo()
            conninfoFor = { cluster.conninfo(database: $0) }
        }
        // A fresh template each process: drop a stale one left by an earlier run on DATABASE_URL.
        let admin = try PGConnection(conninfo: adminConninfo)
        try admin.execute("DROP DATABASE IF EXISTS \(Self.templateName)")
        try admin.execute("CREATE DATABASE \(Self.templateName)")
        try DatabaseSetup.prepare(conninfo: conninfoFor(Self.templateName), secrets: secrets,
                                  loadReferenceData: true, demoPeople: true)
    }

    /// A new database with the schema and the demo data set; returns its conninfo.
    func freshDatabase() throws -> String {
        counter.lock()
        created += 1
        let name = "medsettle_test_\(getpid())_\(created)"
        counter.unlock()
        let admin = try PGConnection(conninfo: adminConninfo)
        try admin.execute("DROP DATABASE IF EXISTS \(name)")
        try admin.execute("CREATE DATABASE \(name) TEMPLATE \(Self.templateName)")
        return conninfoFor(name)
    }

    /// `url` with its database replaced: the path of a URL, or a trailing `dbname=` (later keys
    /// win in a libpq key=value string).
    static func conninfo(_ url: String, database: String) -> String {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"), var components = URLComponents(string: url) {
            components.path = "/" + database
            return components.string ?? url
        }
        return url + " dbname=\(database)"
    }

    private static func makeTempDirectory() throws -> String {
        var template = Array("/tmp/medsettle-test-XXXXXX".utf8CString)
        guard let result = mkdtemp(&template) else { throw POSIXError(.EIO) }
        return String(cString: result)
    }
}

/// Stops the throwaway cluster and deletes its directory when the test process exits.
enum ClusterCleanup {
    nonisolated(unsafe) private static var cluster: LocalCluster?

    static let ownerFile = "owner.pid"

    static func register(_ cluster: LocalCluster) {
        Self.cluster = cluster
        try? String(getpid()).write(toFile: cluster.directory + "/" + ownerFile, atomically: true, encoding: .utf8)
        atexit {
            guard let cluster = ClusterCleanup.cluster else { return }
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(atPath: cluster.directory)
        }
    }

    /// Stops and deletes the clusters of earlier test processes that died without their atexit
    /// (a crash, a kill): each records its owner's process id, and a dead owner's cluster is stale.
    static func reapOrphans() {
        let temp = "/tmp"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: temp) else { return }
        for entry in entries where entry.hasPrefix("medsettle-test-") {
            let directory = temp + "/" + entry
            guard let text = try? String(contentsOfFile: directory + "/" + ownerFile, encoding: .utf8),
                  let owner = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  kill(owner, 0) != 0, errno == ESRCH else { continue }
            if FileManager.default.fileExists(atPath: directory + "/data/PG_VERSION") {
                try? LocalCluster.prepare(directory: directory, durable: false).stop(mode: "immediate") // an existing cluster: no initdb
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
