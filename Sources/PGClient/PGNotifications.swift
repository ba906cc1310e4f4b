import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `NOTIFY` received on a connection that listens.
public struct PGNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
}

extension PGConnection {
    /// Waits up to `timeoutMilliseconds` for notifications on the channels this connection
    /// `LISTEN`s to, and returns those that arrived (none on a timeout). Throws when the
    /// connection is lost: the listener then reconnects and reloads what it may have missed.
    public func notifications(waitingUpTo timeoutMilliseconds: Int32) throws -> [PGNotification] {
        let conn = try liveHandle()
        let pending = Self.drainNotifications(conn)
        guard pending.isEmpty else { return pending }
        var descriptor = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready < 0 && errno != EINTR {
            throw PGError(kind: .connection, message: "waiting for notifications failed (errno \(errno))")
        }
        guard ready > 0 else { return [] }
        guard PQconsumeInput(conn) == 1 else { throw PGError(kind: .connection, message: Self.connectionMessage(conn)) }
        return Self.drainNotifications(conn)
    }

    private static func drainNotifications(_ conn: OpaquePointer) -> [PGNotification] {
        var received: [PGNotification] = []
        while let notice = PQnotifies(conn) {
            let channel = String(cString: notice.pointee.relname)
            let payload = String(cString: notice.pointee.extra)
            PQfreemem(notice)
            received.append(PGNotification(channel: channel, payload: payload))
        }
        return received
    }
}
