import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster in one directory, for the demo and the test suite.
///
/// Layout of `directory`: `data/` (the cluster), `port` (its port number), `initdb.log`,
/// `postgres.log`, and the server's Unix socket. The server listens on that socket only, never on
/// TCP, and trusts local connections: this is a development cluster, never a production one.
/// When the process runs as root, initdb and the server run as the `postgres` user (PostgreSQL
/// refuses root), and the directory is handed to that user.
public struct LocalCluster: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The superuser that initdb creates and the engine connects as.
    public static let superuser = "medsettle"

    public let directory: String
    public let port: Int
    let binDirectory: String

    /// A libpq connection string for `database` on this cluster (Unix socket, trust auth).
    public func conninfo(database: String = "postgres") -> String {
        "host=\(directory) port=\(port) user=\(Self.superuser) dbname=\(database) connect_timeout=10"
    }

    /// Uses the cluster in `directory` if it has one, else creates it (initdb).
    ///
    /// - Parameter durable: false turns fsync, synchronous commit and full-page writes off; for
    ///   throwaway test clusters only.
    public static func prepare(directory: String, durable: Bool) throws -> LocalCluster {
        let fm = FileManager.default
        let bin = try findBinDirectory()
        let dataDir = directory + "/data"
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let portFile = directory + "/port"
        if fm.fileExists(atPath: dataDir + "/PG_VERSION"),
           let text = try? String(contentsOfFile: portFile, encoding: .utf8),
           let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return LocalCluster(directory: directory, port: port, binDirectory: bin)
        }
        let port = Int.random(in: 20_000..<60_000)
        try "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
        try handToServerUser(directory)
        let status = try Spawn.run(
            asServerUser([bin + "/initdb", "-D", dataDir, "-U", superuser, "-A", "trust",
                          "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
            logPath: directory + "/initdb.log")
        guard status == 0 else {
            throw Failure(description: "initdb failed (exit \(status)); see \(directory)/initdb.log")
        }
        var settings = """

            # medsettle: a private cluster reached only through its Unix socket.
            listen_addresses = ''
            port = \(port)
            unix_socket_directories = '\(directory)'
            # The test suite runs many engines at once (each with its pool, its LISTEN connection
            # and an admin pool), and serve processes with theirs.
            max_connections = 1000
            shared_buffers = 256MB
            log_min_messages = warning

            """
        if !durable {
            settings += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        }
        try appendSettings(settings, dataDirectory: dataDir)
        return LocalCluster(directory: directory, port: port, binDirectory: bin)
    }

    /// A streaming standby of this running cluster, in `directory`, named `name` (its
    /// `application_name` on the primary, which `synchronous_standby_names` can match): a base
    /// backup (`pg_basebackup -R`, so it follows the primary's WAL) with its own port and socket.
    /// It is not started. For failover tests on one machine; production standbys are set up by
    /// their HA tool (docs/DEPLOYMENT.md).
    public func makeStandby(directory: String, name: String) throws -> LocalCluster {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.handToServerUser(directory)
        var port = Int.random(in: 20_000..<60_000)
        while port == self.port { port = Int.random(in: 20_000..<60_000) }
        try "\(port)\n".write(toFile: directory + "/port", atomically: true, encoding: .utf8)
        let status = try Spawn.run(
            asServerUser([binDirectory + "/pg_basebackup", "-h", self.directory, "-p", String(self.port), "-U", Self.superuser,
                          "-D", directory + "/data", "-R", "-X", "stream", "-c", "fast"]),
            logPath: directory + "/basebackup.log")
        guard status == 0 else {
            throw Failure(description: "pg_basebackup failed (exit \(status)); see \(directory)/basebackup.log")
        }
        try Self.appendSettings("""

            # medsettle: a standby of the cluster on port \(self.port).
            port = \(port)
            unix_socket_directories = '\(directory)'
            cluster_name = '\(name)'

            """, dataDirectory: directory + "/data")
        return LocalCluster(directory: directory, port: port, binDirectory: binDirectory)
    }

    /// Promotes a standby to primary and waits until it accepts writes.
    public func promote() throws {
        let status = try Spawn.run(
            asServerUser([binDirectory + "/pg_ctl", "-D", directory + "/data", "-w", "-t", "60", "promote"]),
            logPath: directory + "/pg_ctl.log")
        guard status == 0 else { throw Failure(description: "pg_ctl promote failed (exit \(status))") }
    }

    /// Later lines of postgresql.conf win over earlier ones.
    private static func appendSettings(_ settings: String, dataDirectory: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
        try handle.close()
    }

    /// Starts the server unless it is already running, and waits until it accepts connections.
    public func start() throws {
        if isRunning() { return }
        let status = try Spawn.run(
            asServerUser([binDirectory + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/postgres.log",
                          "-w", "-t", "60", "start"]),
            logPath: directory + "/pg_ctl.log")
        guard status == 0 else {
            throw Failure(description: "PostgreSQL did not start (exit \(status)); see \(directory)/postgres.log")
        }
    }

    /// Stops the server: `fast` rolls back open transactions; `immediate` is a crash stop.
    public func stop(mode: String = "fast") throws {
        guard isRunning() else { return }
        let status = try Spawn.run(
            asServerUser([binDirectory + "/pg_ctl", "-D", directory + "/data", "-m", mode, "-w", "stop"]),
            logPath: directory + "/pg_ctl.log")
        guard status == 0 else { throw Failure(description: "pg_ctl stop failed (exit \(status))") }
    }

    public func isRunning() -> Bool {
        let status = try? Spawn.run(asServerUser([binDirectory + "/pg_ctl", "-D", directory + "/data", "status"]))
        return status == 0
    }

    // MARK: - helpers

    private static var runningAsRoot: Bool { geteuid() == 0 }

    private func asServerUser(_ argv: [String]) -> [String] { Self.asServerUser(argv) }

    private static func asServerUser(_ argv: [String]) -> [String] {
        runningAsRoot ? ["runuser", "-u", "postgres", "--"] + argv : argv
    }

    /// PostgreSQL refuses to run as root; the cluster then belongs to the `postgres` user.
    private static func handToServerUser(_ directory: String) throws {
        guard runningAsRoot else { return }
        guard let entry = getpwnam("postgres") else {
            throw Failure(description: "running as root needs a 'postgres' user (apt-get install postgresql)")
        }
        guard chown(directory, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw Failure(description: "cannot hand \(directory) to the postgres user")
        }
        // Every parent must be traversable by that user.
        var parent = (directory as NSString).deletingLastPathComponent
        while parent.count > 1 {
            guard access(parent, F_OK) == 0 else { break }
            var info = stat()
            if stat(parent, &info) == 0, info.st_mode & 0o001 == 0 {
                throw Failure(description: "\(parent) is not traversable by the postgres user; choose a data directory elsewhere (e.g. under /tmp)")
            }
            parent = (parent as NSString).deletingLastPathComponent
        }
    }

    /// Finds initdb and pg_ctl: `$PG_BINDIR`, then the newest `/usr/lib/postgresql/*/bin`, then PATH.
    static func findBinDirectory() throws -> String {
        let fm = FileManager.default
        if let dir = ProcessInfo.processInfo.environment["PG_BINDIR"], fm.fileExists(atPath: dir + "/initdb") {
            return dir
        }
        if let versions = try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            let sorted = versions.compactMap { Int($0) }.sorted(by: >)
            for version in sorted where fm.fileExists(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") {
                return "/usr/lib/postgresql/\(version)/bin"
            }
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            if fm.fileExists(atPath: "\(dir)/initdb") && fm.fileExists(atPath: "\(dir)/pg_ctl") { return String(dir) }
        }
        throw Failure(description: "PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql, or set PG_BINDIR")
    }
}
