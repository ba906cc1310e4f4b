import Dispatch
import Foundation

/// Suspends until the process gets SIGINT or SIGTERM, and returns the signal's name.
func waitForTerminationSignal() async -> String {
    await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
        let once = SignalOnce(continuation)
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { once.fire(name) }
            source.resume()
            once.keep(source)
        }
    }
}

/// Resumes the continuation on the first signal only, and keeps the sources alive.
private final class SignalOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<String, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<String, Never>) { self.continuation = continuation }

    func keep(_ source: any DispatchSourceSignal) {
        lock.lock(); defer { lock.unlock() }
        sources.append(source)
    }

    func fire(_ name: String) {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume(returning: name)
    }
}
