import DiffuseFormats
import Foundation
import Hummingbird

/// Small helpers shared by the route files.
enum HTTPSupport {
    /// A JSON reply.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized)))
    }

    /// A reply with fixed bytes.
    static func bytes(_ data: Data, contentType: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads the whole body (at most `limit` bytes). After a 413, Hummingbird reads the rest of
    /// the body before the next request, so the connection stays usable (keep-alive).
    /// - Throws: `APIError.tooLarge` (413) past the limit (at once for a `Content-Length` over it).
    static func readBody(_ request: Request, limit: Int) async throws -> Data {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.tooLarge(limit: limit)
        }
        var collected = ByteBuffer()
        for try await chunk in request.body {
            guard collected.readableBytes + chunk.readableBytes <= limit else { throw APIError.tooLarge(limit: limit) }
            collected.writeImmutableBuffer(chunk)
        }
        return Data(collected.readableBytesView)
    }

    /// Reads the body as a JSON object.
    /// - Throws: `APIError.tooLarge` past the limit, `APIError.badBody` for non-JSON.
    static func readFields(_ request: Request, limit: Int) async throws -> RequestFields {
        try RequestFields(body: try await readBody(request, limit: limit))
    }

    /// Reads the body as `multipart/form-data`.
    /// - Throws: `APIError.tooLarge` past the limit, `APIError.badBody` for another content type or a malformed form.
    static func readForm(_ request: Request, limit: Int) async throws -> MultipartForm {
        let body = try await readBody(request, limit: limit)
        return try MultipartForm(body: body, contentType: request.headers[.contentType])
    }

    /// The absolute base URL clients used to reach us (`http://host:port`), from the Host header.
    static func baseURL(_ request: Request, fallbackHost: String, port: Int) -> String {
        if let host = request.head.authority, !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == " " }) {
            return "http://\(host)"
        }
        return "http://\(fallbackHost):\(port)"
    }
}
