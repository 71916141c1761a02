import Hummingbird

/// Lets pages on any origin call the APIs: answers every `OPTIONS` (a CORS preflight) with 204
/// and the `Access-Control-Allow-*` headers, before authentication (a preflight carries no
/// credentials), and adds `Access-Control-Allow-Origin: *` to every other reply, errors included.
/// Credentials travel in the `Authorization` header, never in cookies, so `*` gives a foreign page
/// nothing it does not already hold.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Seconds a browser may cache a preflight answer.
    static var maxAge: Int { 86400 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .options {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: "*",
                .accessControlAllowMethods: "GET, HEAD, POST, DELETE, OPTIONS",
                .accessControlAllowHeaders: request.headers[.accessControlRequestHeaders] ?? "Authorization, Content-Type",
                .accessControlMaxAge: String(CORSMiddleware.maxAge),
            ])
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = "*"
        return response
    }
}
