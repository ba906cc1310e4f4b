import Dispatch
import Foundation

/// Runs `handler` on every SIGHUP the process receives, until the returned source is cancelled.
/// SIGHUP's default action (ending the process) is turned off first. Several observers may be
/// installed; each is called (the log reopens its file, the listener rereads its certificates).
func observeHangup(_ handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
    signal(SIGHUP, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
    source.setEventHandler(handler: handler)
    source.resume()
    return source
}
