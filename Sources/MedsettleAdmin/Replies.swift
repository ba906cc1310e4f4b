import Foundation
import Hummingbird
import NIOCore

/// Building the HTTP side's responses: JSON (sorted keys), plain text, CSV; none of them cached.
enum Reply {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return bytes(Array(try encoder.encode(value)), type: "application/json", status: status)
    }

    static func text(_ text: String, status: HTTPResponse.Status = .ok, type: String = "text/plain; charset=utf-8") -> Response {
        bytes(Array(text.utf8), type: type, status: status)
    }

    static func bytes(_ bytes: [UInt8], type: String, status: HTTPResponse.Status = .ok, extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "no-store", .init("X-Content-Type-Options")!: "nosniff"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// An error as the API answers it: `{"error": "…"}`.
    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let body = (try? JSONEncoder().encode(["error": message])).map(Array.init) ?? Array("{}".utf8)
        var extra: HTTPFields = [:]
        if status == .unauthorized { extra[.wwwAuthenticate] = "Bearer realm=\"medsettle\"" }
        return bytes(body, type: "application/json", status: status, extra: extra)
    }
}

/// A page of a list: at most the page size, and where the next page starts (nil: this is the last).
struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    let items: [Item]
    let next: String?
}

/// `limit` and the cursor of a list request, checked.
struct PageRequest {
    let limit: Int
    let cursor: String?

    init(_ request: Request, maxRows: Int) throws {
        let query = request.uri.queryParameters
        if let text = query.get("limit") {
            guard let limit = Int(text), (1...maxRows).contains(limit) else {
                throw AdminRefusal.badRequest("limit must be an integer from 1 to \(maxRows)")
            }
            self.limit = limit
        } else {
            limit = maxRows
        }
        cursor = query.get("after") ?? query.get("before")
    }
}
