import Foundation
import Hummingbird

/// With an API key set, lets a request through only with the key in its `Authorization` header:
/// `Bearer <key>`, or HTTP Basic (webuiapi's `set_auth`, A1111's `--api-auth user:pass`) whose
/// password is the key, with any user name, or whose whole `user:pass` is the key. Served without
/// a key (`GET`/`HEAD`): the page's static assets (so a browser can load the page, which then sends
/// the key), `/health`, and `/images/<id>.png` — image links work in an `<img>`; their ids are
/// 122 random bits, unguessable, and only given to clients that held the key.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String
    /// Paths served without a key.
    let publicPaths: Set<String>
    /// Path prefixes served without a key.
    let publicPrefixes: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if request.method == .get || request.method == .head,
           publicPaths.contains(path) || publicPrefixes.contains(where: { path.hasPrefix($0) }) {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("missing API key: send the header Authorization: Bearer <key> (or HTTP Basic with the key as password)")
        }
        guard accepts(header) else {
            throw APIError.unauthorized("wrong API key in the Authorization header")
        }
        return try await next(request, context)
    }

    /// Whether an `Authorization` value carries the key (scheme names are case-insensitive).
    func accepts(_ header: String) -> Bool {
        let key = Array(key.utf8)
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return false }
        switch parts[0].lowercased() {
        case "bearer":
            return AuthMiddleware.constantTimeEqual(Array(parts[1].utf8), key)
        case "basic":
            guard let decoded = Data(base64Encoded: String(parts[1])) else { return false }
            let credentials = Array(decoded)
            guard let colon = credentials.firstIndex(of: UInt8(ascii: ":")) else { return false }
            let password = Array(credentials[(colon + 1)...])
            // Both comparisons always run: the time taken does not say which one matched.
            let passwordMatches = AuthMiddleware.constantTimeEqual(password, key)
            let pairMatches = AuthMiddleware.constantTimeEqual(credentials, key)
            return passwordMatches || pairMatches
        default:
            return false
        }
    }

    /// Compares without an early exit, so timing does not reveal how much of the key matched.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0 ..< max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0 && a.count == b.count
    }
}
