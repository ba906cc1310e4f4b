import CSpawn
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program and waits for it, with only stdin/stdout/stderr inherited.
///
/// Why not Foundation.Process: `pg_ctl start` leaves a postmaster running that would inherit every
/// open descriptor, and Process waits on one of them until the server stops. Here the child gets
/// `/dev/null` for stdin, the log file (or `/dev/null`) for stdout and stderr, and every
/// descriptor from 3 up is closed.
enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Returns the exit status (128 + signal number when killed by a signal).
    static func run(_ argv: [String], logPath: String? = nil) throws -> Int32 {
        precondition(!argv.isEmpty, "a command has a program")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let output = logPath ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        #if canImport(Glibc)
        medsettle_spawn_addclosefrom(&actions, 3)
        #endif

        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
        guard rc == 0 else {
            throw Failure(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw Failure(description: "waitpid failed for \(argv[0])") }
        }
        let signal = status & 0x7F
        if signal != 0 { return 128 + signal }
        return (status >> 8) & 0xFF
    }
}
