import CSpawn
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium driven over its DevTools pipe (`--remote-debugging-pipe`: it reads commands
/// on descriptor 3 and writes replies and events on descriptor 4, each message JSON ending in a
/// NUL byte). Synchronous: run it off the tests' cooperative threads (`run(_:)`).
final class HeadlessChromium: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let pid: pid_t
    private let commands: Int32
    private let replies: Int32
    private let profile: String
    private var nextID = 1
    private var pending: [UInt8] = []
    /// The page's session, once attached.
    private var session: String?

    /// Chromium's executable: `CHROMIUM` when set, else the Debian package's.
    static var executable: String? {
        let candidates = [ProcessInfo.processInfo.environment["CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser"]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Installs Debian's `chromium` when it is missing and this is root (as `.ci/run` does);
    /// returns the executable, or nil when it cannot be had.
    static func installIfMissing() -> String? {
        if let found = executable { return found }
        guard getuid() == 0 else { return nil }
        let script = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"
        _ = try? runQuietly(["/bin/sh", "-c", script])
        return executable
    }

    private static func runQuietly(_ argv: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Starts a browser with a fresh profile and attaches to its page.
    init(executable: String, windowSize: (Int, Int) = (1280, 1700)) throws {
        var template = Array("/tmp/medsettle-chromium-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(description: "mkdtemp failed") }
        profile = String(cString: made)
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw Failure(description: "pipe failed") }
        for fd in toBrowser + fromBrowser { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // Out of the way of 3 and 4, where the child wants them.
        let childIn = fcntl(toBrowser[0], F_DUPFD_CLOEXEC, 100), childOut = fcntl(fromBrowser[1], F_DUPFD_CLOEXEC, 100)
        Glibc.close(toBrowser[0])
        Glibc.close(fromBrowser[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, profile + "/chromium.log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, childIn, 3)
        posix_spawn_file_actions_adddup2(&actions, childOut, 4)
        medsettle_spawn_addclosefrom(&actions, 5)
        let argv = [executable, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                    "--disable-sync", "--disable-component-update", "--mute-audio", "--hide-scrollbars",
                    "--user-data-dir=\(profile)/profile", "--window-size=\(windowSize.0),\(windowSize.1)", "about:blank"]
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        // Its own process group, so that its helpers (zygote, renderers) can be ended together.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, cArgs, environ)
        Glibc.close(childIn)
        Glibc.close(childOut)
        guard rc == 0 else {
            Glibc.close(toBrowser[1])
            Glibc.close(fromBrowser[0])
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        commands = toBrowser[1]
        replies = fromBrowser[0]
        do {
            let targets = try send("Target.getTargets", inPage: false)
            let infos = (targets["targetInfos"] as? [[String: Any]]) ?? []
            guard let page = infos.first(where: { $0["type"] as? String == "page" })?["targetId"] as? String else {
                throw Failure(description: "no page target in \(targets)")
            }
            let attached = try send("Target.attachToTarget", ["targetId": page, "flatten": true], inPage: false)
            session = attached["sessionId"] as? String
            _ = try send("Page.enable")
            _ = try send("Runtime.enable")
        } catch {
            close()
            throw error
        }
    }

    /// The browser's log (for a failing test's message).
    var log: String { (try? String(contentsOfFile: profile + "/chromium.log", encoding: .utf8)) ?? "" }

    /// One DevTools command; its `result`, or a `Failure` with the browser's error.
    @discardableResult
    func send(_ method: String, _ params: [String: Any] = [:], inPage: Bool = true, timeout: Double = 60) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if inPage, let session { message["sessionId"] = session }
        var bytes = Array(try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "the browser's pipe is closed (\(method))") }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let reply = try readMessage(until: deadline, waitingFor: method)
            guard reply["id"] as? Int == id else { continue } // an event, or a reply to no one now
            if let error = reply["error"] as? [String: Any] { throw Failure(description: "\(method): \(error)") }
            return (reply["result"] as? [String: Any]) ?? [:]
        }
    }

    private func readMessage(until deadline: Date, waitingFor method: String) throws -> [String: Any] {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let body = Array(pending[..<end])
                pending.removeSubrange(...end)
                return (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Failure(description: "no answer from the browser to \(method)") }
            var poller = pollfd(fd: replies, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, 1) * 1000))
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(replies, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "the browser closed its pipe (\(method)); log:\n\(log.suffix(2000))") }
            pending += chunk[..<n]
        }
    }

    /// Evaluates JavaScript in the page (awaiting a promise) and returns its value.
    @discardableResult
    func evaluate(_ expression: String) throws -> Any? {
        let result = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw Failure(description: "\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Waits until `condition` (JavaScript) is true, or throws with the last value of `describe`.
    func waitUntil(_ condition: String, describe: String = "document.body ? document.body.innerText.slice(0, 2000) : ''",
                   timeout: Double = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try evaluate("Boolean(\(condition))") as? Bool == true { return }
            usleep(100_000)
        }
        throw Failure(description: "never true: \(condition); the page shows:\n\(try evaluate(describe) ?? "nothing")")
    }

    /// A PNG of the whole page.
    func screenshot() throws -> Data {
        let result = try send("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw Failure(description: "no screenshot")
        }
        return data
    }

    /// Ends the browser and removes its profile.
    func close() {
        _ = try? send("Browser.close", inPage: false, timeout: 5)
        Glibc.close(commands)
        Glibc.close(replies)
        var status: Int32 = 0
        for _ in 0..<50 {
            if waitpid(pid, &status, WNOHANG) == pid { break }
            usleep(100_000)
        }
        if waitpid(pid, &status, WNOHANG) == 0 {
            kill(-pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        kill(-pid, SIGKILL) // helpers left behind, if any
        try? FileManager.default.removeItem(atPath: profile)
    }

    /// Runs a synchronous browser session on a thread of its own, off the cooperative pool.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }
}
