import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A reply read off the wire.
struct HTTPReply: Sendable {
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (fails the caller's test if it is not one).
    func object(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        guard let value = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) as? [String: Any] else {
            throw TestFailure("body is not a JSON object: \(text.prefix(300))")
        }
        return value
    }

    /// The body as a JSON array.
    func array() throws -> [Any] {
        guard let value = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) as? [Any] else {
            throw TestFailure("body is not a JSON array: \(text.prefix(300))")
        }
        return value
    }
}

/// A test precondition that did not hold.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One TCP connection to 127.0.0.1 with blocking I/O and timeouts, so a misbehaving server fails
/// a test instead of hanging it.
final class RawConnection: @unchecked Sendable {
    private let fd: Int32
    private var closed = false

    init(port: Int, timeout: Double = 120) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw TestFailure("connect to port \(port) failed: errno \(code)")
        }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    /// Sends all of `data`; false if the peer stopped reading (EPIPE / reset).
    @discardableResult
    func send(_ data: Data) throws -> Bool {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EPIPE || errno == ECONNRESET { return false }
                    throw TestFailure("send failed: errno \(errno)")
                }
                offset += n
            }
            return true
        }
    }

    /// Up to `max` bytes; empty at end of stream.
    func receive(max: Int = 65536) throws -> Data {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let n = recv(fd, &buffer, max, 0)
            if n >= 0 { return Data(buffer[0 ..< n]) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw TestFailure("timed out waiting for the server") }
            throw TestFailure("recv failed: errno \(errno)")
        }
    }

    func close() {
        if !closed {
            closed = true
            Glibc.close(fd)
        }
    }
}

/// A tiny HTTP/1.1 client over `RawConnection`: Content-Length and chunked replies.
enum RawHTTP {
    /// The request bytes.
    static func requestData(method: String, path: String, port: Int, headers: [String: String], body: Data?) -> Data {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body, headers.keys.allSatisfy({ $0.lowercased() != "content-length" }) {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return Data(head.utf8) + (body ?? Data())
    }

    /// Sends one request on a new connection and reads the whole reply (blocking).
    static func send(method: String, path: String, port: Int, headers: [String: String] = [:], body: Data? = nil) throws -> HTTPReply {
        let connection = try RawConnection(port: port)
        defer { connection.close() }
        try connection.send(requestData(method: method, path: path, port: port, headers: headers, body: body))
        return try readReply(connection, method: method)
    }

    /// Runs blocking socket work on its own thread, off the tests' cooperative threads.
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// Reads one reply (a reply to `HEAD` has no body, whatever its Content-Length says).
    static func readReply(_ connection: RawConnection, method: String = "GET") throws -> HTTPReply {
        var buffer = Data()
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            let chunk = try connection.receive()
            if chunk.isEmpty { throw TestFailure("connection closed before the reply's headers (\(buffer.count) bytes)") }
            buffer.append(chunk)
            headerEnd = buffer.range(of: separator)
        }
        let headText = String(decoding: buffer[..<headerEnd!.lowerBound], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusParts = lines.removeFirst().split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw TestFailure("bad status line in \(headText)") }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var rest = Data(buffer[headerEnd!.upperBound...])
        func more() throws -> Bool {
            let chunk = try connection.receive()
            rest.append(chunk)
            return !chunk.isEmpty
        }
        var body = Data()
        if method == "HEAD" {
            body = Data()
        } else if let length = headers["content-length"].flatMap(Int.init) {
            while rest.count < length { guard try more() else { throw TestFailure("reply body cut short") } }
            body = rest.prefix(length)
        } else if headers["transfer-encoding"]?.lowercased() == "chunked" {
            let crlf = Data("\r\n".utf8)
            while true {
                var lineEnd = rest.range(of: crlf)
                while lineEnd == nil {
                    guard try more() else { throw TestFailure("chunked body cut short") }
                    lineEnd = rest.range(of: crlf)
                }
                let sizeText = String(decoding: rest[rest.startIndex ..< lineEnd!.lowerBound], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16) else {
                    throw TestFailure("bad chunk size \(sizeText)")
                }
                rest = Data(rest[lineEnd!.upperBound...])
                while rest.count < size + 2 { guard try more() else { throw TestFailure("chunk cut short") } }
                if size == 0 { break }
                body.append(rest.prefix(size))
                rest = Data(rest.dropFirst(size + 2))
            }
        } else if status != 204 && status != 304 {
            while try more() {}
            body = rest
        }
        return HTTPReply(status: status, headers: headers, body: body)
    }
}

/// Async front of `RawHTTP` for the tests: each request on its own thread, so a burst really is
/// concurrent and never blocks the test's cooperative threads.
struct TestClient: Sendable {
    let port: Int
    var apiKey: String? = nil

    func send(_ method: String, _ path: String, json: String? = nil, headers: [String: String] = [:]) async throws -> HTTPReply {
        var all = headers
        if let apiKey { all["Authorization"] = "Bearer \(apiKey)" }
        if json != nil { all["Content-Type"] = "application/json" }
        let body = json.map { Data($0.utf8) }
        let (port, fields) = (self.port, all)
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try RawHTTP.send(method: method, path: path, port: port, headers: fields, body: body) })
            }
            thread.start()
        }
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> HTTPReply {
        try await send("GET", path, headers: headers)
    }

    func post(_ path: String, _ json: String, headers: [String: String] = [:]) async throws -> HTTPReply {
        try await send("POST", path, json: json, headers: headers)
    }

    /// A `multipart/form-data` POST: text fields, then files (name → (file name, bytes)).
    func postForm(_ path: String, fields: [(String, String)], files: [(name: String, filename: String, data: Data)] = [],
                  headers: [String: String] = [:]) async throws -> HTTPReply {
        let boundary = "diffuse-test-\(UUID().uuidString)"
        var body = Data()
        for (name, value) in fields {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for file in files {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.filename)\"\r\nContent-Type: image/png\r\n\r\n".utf8)
            body += file.data + Data("\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\n".utf8)
        var all = headers
        if let apiKey { all["Authorization"] = "Bearer \(apiKey)" }
        all["Content-Type"] = "multipart/form-data; boundary=\(boundary)"
        let (port, fields, payload) = (self.port, all, body)
        return try await RawHTTP.onThread { try RawHTTP.send(method: "POST", path: path, port: port, headers: fields, body: payload) }
    }

    func post(_ path: String, object: [String: Any]) async throws -> HTTPReply {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await send("POST", path, json: String(decoding: data, as: UTF8.self))
    }
}
