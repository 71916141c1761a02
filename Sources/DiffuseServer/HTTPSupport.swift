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

    /// Reads the whole body and parses it as a JSON object.
    ///
    /// - Parameter drainExcess: read a body past `limit` to its end (dropping it) before the 413
    ///   is thrown. Needed under the disconnect watch below, which forwards body parts with
    ///   back-pressure, so a body left half-read would stall the request; elsewhere Hummingbird
    ///   drains the rest after sending the 413.
    /// - Throws: `APIError.tooLarge` (413) past the limit, `APIError.badBody` for non-JSON.
    static func readFields(_ body: RequestBody, headers: HTTPFields, limit: Int, drainExcess: Bool = false) async throws -> RequestFields {
        try checkDeclaredLength(headers, limit: limit)
        var collected = ByteBuffer()
        var tooLarge = false
        var iterator = body.makeAsyncIterator()
        while let chunk = try await iterator.next() {
            if tooLarge { continue }
            if collected.readableBytes + chunk.readableBytes > limit {
                guard drainExcess else { throw APIError.tooLarge(limit: limit) }
                tooLarge = true
                collected = ByteBuffer()
                continue
            }
            collected.writeImmutableBuffer(chunk)
        }
        if tooLarge { throw APIError.tooLarge(limit: limit) }
        return try RequestFields(body: Data(collected.readableBytesView))
    }

    /// 413 for a `Content-Length` over the limit, before any of the body is read.
    static func checkDeclaredLength(_ headers: HTTPFields, limit: Int) throws {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.tooLarge(limit: limit)
        }
    }

    /// Reads the JSON body (at most `limit` bytes) and runs `operation` with its fields,
    /// cancelling it if the client disconnects first (which cancels the generation job it waits
    /// for).
    static func withFieldsCancellingOnDisconnect(_ request: Request, limit: Int,
                                                  _ operation: (RequestFields) async throws -> Response) async throws -> Response {
        // A declared length over the limit is refused before the watch starts reading the body.
        try checkDeclaredLength(request.headers, limit: limit)
        return try await request.body.consumeWithCancellationOnInboundClose { body in
            try await operation(try await readFields(body, headers: request.headers, limit: limit, drainExcess: true))
        }
    }

    /// The absolute base URL clients used to reach us (`http://host:port`), from the Host header.
    static func baseURL(_ request: Request, fallbackHost: String, port: Int) -> String {
        if let host = request.head.authority, !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == " " }) {
            return "http://\(host)"
        }
        return "http://\(fallbackHost):\(port)"
    }
}
