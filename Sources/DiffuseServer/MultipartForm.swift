import Foundation

/// A `multipart/form-data` body (RFC 7578), as the OpenAI client sends `images.edit` and
/// `images.create_variation`: named parts in order, each text or a file.
struct MultipartForm {
    /// One part: its form field name, the file name if it is a file, and its bytes.
    struct Part {
        var name: String
        var filename: String?
        var data: Data
    }

    /// In body order.
    let parts: [Part]

    /// Splits `body` at the boundary named in `contentType`.
    /// - Throws: `APIError.badBody` for another content type, a missing boundary, or a body not
    ///   laid out as boundary-separated parts with `Content-Disposition: form-data; name=…`.
    init(body: Data, contentType: String?) throws {
        let (type, parameters) = MultipartForm.headerValue(contentType ?? "")
        guard type.lowercased() == "multipart/form-data" else {
            throw APIError.badBody("request body must be multipart/form-data (image files and fields), not \(contentType ?? "untyped")")
        }
        guard let boundary = parameters["boundary"], !boundary.isEmpty else {
            throw APIError.badBody("multipart/form-data without a boundary parameter")
        }
        let delimiter = Data("--\(boundary)".utf8)
        let separator = Data("\r\n\r\n".utf8)
        guard var cursor = body.range(of: delimiter)?.upperBound else {
            throw APIError.badBody("multipart body has no \"--\(boundary)\" delimiter")
        }
        var parts: [Part] = []
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body[cursor...].starts(with: Data("--".utf8)) { break }
            guard body[cursor...].starts(with: Data("\r\n".utf8)),
                  let headerEnd = body.range(of: separator, in: cursor ..< body.endIndex),
                  let next = body.range(of: Data("\r\n".utf8) + delimiter, in: headerEnd.upperBound ..< body.endIndex)
            else {
                throw APIError.badBody("multipart body is cut short or malformed after part \(parts.count)")
            }
            let headers = String(decoding: body[(cursor + 2) ..< headerEnd.lowerBound], as: UTF8.self)
            var name: String?, filename: String?
            for line in headers.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":"),
                      line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition" else { continue }
                let (_, values) = MultipartForm.headerValue(String(line[line.index(after: colon)...]))
                (name, filename) = (values["name"], values["filename"])
            }
            guard let name else { throw APIError.badBody("multipart part \(parts.count) has no Content-Disposition name") }
            parts.append(Part(name: name, filename: filename, data: Data(body[headerEnd.upperBound ..< next.lowerBound])))
            cursor = next.upperBound
        }
        self.parts = parts
    }

    /// The text fields (parts without a file name), in order.
    var fields: [(String, String)] {
        parts.filter { $0.filename == nil }.map { ($0.name, String(decoding: $0.data, as: UTF8.self)) }
    }

    /// The first part with one of these names that holds data (files, or text sent as a field).
    func file(_ names: String...) -> Part? {
        parts.first { names.contains($0.name) && !$0.data.isEmpty }
    }

    /// `type; key=value; key="quoted value"` → the type and its parameters (keys lowercased).
    static func headerValue(_ text: String) -> (String, [String: String]) {
        var pieces: [String] = []
        var current = "", quoted = false
        for c in text {
            if c == "\"" { quoted.toggle() }
            if c == ";" && !quoted {
                pieces.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        pieces.append(current)
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            var value = piece[piece.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            parameters[piece[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] = value
        }
        return (pieces[0].trimmingCharacters(in: .whitespaces), parameters)
    }
}
