import Hummingbird

/// With an API key set, lets a request through only with `Authorization: Bearer <key>`, except
/// for the page's static assets (so a browser can load the page, which then sends the key).
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String
    /// Paths served without a key.
    let publicPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .get || request.method == .head, publicPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("missing API key: send the header Authorization: Bearer <key>")
        }
        let prefix = "bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix),
              AuthMiddleware.constantTimeEqual(Array(header.utf8.dropFirst(prefix.count)), Array(key.utf8))
        else {
            throw APIError.unauthorized("wrong API key in the Authorization header")
        }
        return try await next(request, context)
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
