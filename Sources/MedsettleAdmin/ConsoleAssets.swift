import Foundation
import Hummingbird

/// The staff console: a page, a style sheet and a script shipped as resources of this module and
/// read once at start-up (no build chain, nothing fetched from elsewhere). The page's
/// Content-Security-Policy allows only this server's own files and API.
struct ConsoleAssets: Sendable {
    struct Asset: Sendable {
        let bytes: [UInt8]
        let type: String
    }

    let assets: [String: Asset]

    static let files: [(name: String, type: String)] = [
        ("index.html", "text/html; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"), ("style.css", "text/css; charset=utf-8"),
    ]

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        .init("Referrer-Policy")!: "no-referrer",
        .init("X-Frame-Options")!: "DENY",
    ]

    static func load() throws -> ConsoleAssets {
        guard let directory = Bundle.module.url(forResource: "Console", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the console's files are missing from the bundle"])
        }
        var assets: [String: Asset] = [:]
        for file in files {
            assets[file.name] = Asset(bytes: Array(try Data(contentsOf: directory.appendingPathComponent(file.name))), type: file.type)
        }
        return ConsoleAssets(assets: assets)
    }

    func register(_ routes: inout RouteTable) {
        routes.add(.get, "/") { _, _ in
            Response(status: .found, headers: [.location: "/console/"])
        }
        routes.add(.get, "/console/") { _, _ in self.response("index.html") }
        for name in ["app.js", "style.css"] {
            routes.add(.get, "/console/\(name)") { _, _ in self.response(name) }
        }
    }

    func response(_ name: String) -> Response {
        guard let asset = assets[name] else { return Reply.text("not found\n", status: .notFound) }
        return Reply.bytes(asset.bytes, type: asset.type, extra: Self.securityHeaders)
    }
}
