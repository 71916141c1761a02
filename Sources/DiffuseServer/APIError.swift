import DiffuseFormats
import DiffusePipelines
import Hummingbird

/// A request the server refuses or cannot finish: the HTTP status, a one-line message that names
/// what is wrong, and (for bad input) the request field at fault. `ErrorMiddleware` renders it in
/// the JSON shape of the route family it came from.
public struct APIError: Error, CustomStringConvertible, Sendable {
    /// The HTTP status of the reply.
    public var status: HTTPResponse.Status
    /// What is wrong, naming the field or value.
    public var message: String
    /// The request field at fault, if one is (OpenAI's `param`).
    public var field: String?
    /// A machine-readable code (OpenAI's `code`), e.g. `"queue_full"`.
    public var code: String?
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields

    /// An error with this status and message; `field` names the request field at fault.
    public init(_ status: HTTPResponse.Status, _ message: String, field: String? = nil, code: String? = nil,
                headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.field = field
        self.code = code
        self.headers = headers
    }

    public var description: String { message }

    /// 400: a field is missing, has the wrong type or an unusable value.
    public static func invalid(_ field: String, _ message: String) -> APIError {
        APIError(.badRequest, message, field: field, code: "invalid_value")
    }

    /// 400: the body as a whole is unusable (not JSON, not an object).
    public static func badBody(_ message: String) -> APIError {
        APIError(.badRequest, message, code: "invalid_body")
    }

    /// An error of the pipeline: 400 naming the request's field (as `names` spells it) when a
    /// request value is at fault, else 500 (the model or its output failed, e.g. a non-finite image).
    public init(_ error: PipelineError, names: GenerationParameters.FieldNames) {
        guard let parameter = error.parameter else {
            self.init(.internalServerError, "generation failed: \(error.description)", code: "generation_failed")
            return
        }
        let field = names.field(for: parameter)
        let message = error.description.hasPrefix(field) ? error.description : "\(field): \(error.description)"
        self.init(.badRequest, message, field: field, code: "generation_rejected")
    }

    /// 501: a feature Diffuse does not have, named by the request field that asks for it.
    public static func notSupported(_ field: String, _ message: String) -> APIError {
        APIError(.notImplemented, message, field: field, code: "not_supported")
    }

    /// The JSON error body: A1111's `{"detail": …}`, or OpenAI's `{"error": {message, type, param, code}}`
    /// (also the job API's and the page's).
    public func body(a1111: Bool) -> JSONValue {
        if a1111 { return ["detail": .string(message)] }
        let type: String
        switch status.code {
        case 429: type = "rate_limit_error"
        case 500...: type = "server_error"
        default: type = "invalid_request_error"
        }
        return ["error": ["message": .string(message), "type": .string(type), "param": .optional(field), "code": .optional(code)]]
    }

    /// 401: the `Authorization: Bearer` key is missing or wrong.
    public static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, message, code: "invalid_api_key", headers: [.wwwAuthenticate: "Bearer"])
    }

    /// 404: no such route, job or image.
    public static func notFound(_ message: String) -> APIError {
        APIError(.notFound, message, code: "not_found")
    }

    /// 413: the body is larger than the server accepts.
    public static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "request body is larger than the limit of \(limit) bytes", code: "body_too_large")
    }

    /// 429: the generation queue is full; try again after `retryAfter` seconds.
    public static func queueFull(limit: Int, retryAfter: Int) -> APIError {
        APIError(.tooManyRequests, "the generation queue is full (\(limit) waiting); retry in \(retryAfter) s",
                 code: "queue_full", headers: [.retryAfter: String(retryAfter)])
    }
}
