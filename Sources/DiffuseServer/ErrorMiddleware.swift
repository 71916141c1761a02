import DiffusePipelines
import DiffuseSchedulers
import Hummingbird

/// Turns every error a route throws into a JSON reply in its API family's shape, so a client
/// never sees an empty 500:
/// - `/sdapi/…` (AUTOMATIC1111): `{"detail": "…"}`;
/// - everything else (OpenAI, the job API, the page): `{"error": {"message", "type", "param", "code"}}`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = ErrorMiddleware.apiError(for: error, request: request)
            if apiError.status == .internalServerError {
                context.logger.error("\(request.method) \(request.uri.path): \(apiError.message)")
            }
            return ErrorMiddleware.response(for: apiError, path: request.uri.path)
        }
    }

    /// The `APIError` an error stands for.
    static func apiError(for error: any Error, request: Request) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as PipelineError:
            return APIError(error, names: .family(ofPath: request.uri.path))
        case let error as SchedulerError:
            return APIError(.badRequest, error.description, field: GenerationParameters.FieldNames.family(ofPath: request.uri.path).sampler,
                            code: "generation_rejected")
        case let error as HTTPError where error.status == .notFound:
            return .notFound("no route for \(request.method) \(request.uri.path)")
        case let error as HTTPError:
            return APIError(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers)
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return APIError(.contentTooLarge, "request body is too large", code: "body_too_large")
        case let error as any HTTPResponseError:
            return APIError(error.status, error.status.reasonPhrase)
        case is CancellationError:
            return APIError(.serviceUnavailable, "the generation was cancelled", code: "cancelled")
        default:
            // NIO's HTTPParserError (e.g. a body cut short by a client that went away): the
            // request was bad, not the server.
            if String(describing: type(of: error)) == "HTTPParserError" {
                return APIError(.badRequest, "malformed HTTP request: \(error)", code: "bad_http")
            }
            return APIError(.internalServerError, "internal error: \(error)", code: "internal_error")
        }
    }

    /// The reply for `error` on a route under `path`.
    static func response(for error: APIError, path: String) -> Response {
        HTTPSupport.json(error.body(a1111: path.hasPrefix("/sdapi/")), status: error.status, headers: error.headers)
    }
}
