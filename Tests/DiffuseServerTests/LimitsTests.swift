import DiffuseServer
import Foundation
import XCTest

/// Body limit (413), caps, the bounded queue under a burst (429), bounded image memory, workers.
final class LimitsTests: XCTestCase {
    func testOversizedBodyIs413() async throws {
        let client = try await TestServers.client(.limited)  // 64 KiB limit
        let big = String(repeating: "a", count: 100 * 1024)
        for path in ["/v1/images/generations", "/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/api/jobs"] {
            let reply = try await client.post(path, #"{"prompt": "\#(big)"}"#)
            XCTAssertEqual(reply.status, 413, path)
            let message = path.hasPrefix("/sdapi/")
                ? try reply.object()["detail"] as? String
                : (try reply.object()["error"] as? [String: Any])?["message"] as? String
            XCTAssertEqual(message, "request body is larger than the limit of 65536 bytes", path)
        }
        // A declared length over the limit is refused before the body is read.
        let declared = try await client.send("POST", "/sdapi/v1/txt2img", json: "{}", headers: ["Content-Length": "999999999"])
        XCTAssertEqual(declared.status, 413)
        // The connection-level limit leaves the server serving.
        let healthStatus = try await client.get("/health").status
        XCTAssertEqual(healthStatus, 200)
    }

    func testChunkedBodyOverTheLimitIs413AndCutBodiesAreSurvived() async throws {
        let (_, port) = try await TestServers.shared.server(.limited)
        // No Content-Length: the limit is found while reading.
        var chunked = Data()
        for _ in 0 ..< 4 {
            let part = Data(repeating: UInt8(ascii: " "), count: 30_000)
            chunked += Data(String(part.count, radix: 16).utf8) + Data("\r\n".utf8) + part + Data("\r\n".utf8)
        }
        chunked += Data("0\r\n\r\n".utf8)
        for path in ["/sdapi/v1/txt2img", "/v1/images/generations", "/api/jobs"] {
            let connection = try RawConnection(port: port, timeout: 30)
            try connection.send(RawHTTP.requestData(method: "POST", path: path, port: port,
                                                    headers: ["Transfer-Encoding": "chunked"], body: nil) + chunked)
            let reply = try RawHTTP.readReply(connection)
            connection.close()
            XCTAssertEqual(reply.status, 413, path)
        }
        // Clients that send half a body and hang up do not hurt the server.
        for path in ["/sdapi/v1/txt2img", "/v1/images/generations", "/api/jobs"] {
            let connection = try RawConnection(port: port, timeout: 30)
            try connection.send(RawHTTP.requestData(method: "POST", path: path, port: port,
                                                    headers: ["Content-Length": "1000"], body: Data(#"{"prompt": "#.utf8)))
            connection.close()
        }
        try await Task.sleep(nanoseconds: 300_000_000)  // let the server see the hang-ups
        let health = try await TestClient(port: port).get("/health")
        XCTAssertEqual(health.status, 200)
    }

    func testConfiguredCapsApply() async throws {
        let client = try await TestServers.client(.limited)  // size 64, steps 10, images 2
        let cases: [(String, String, String)] = [
            ("/v1/images/generations", #"{"prompt": "x", "size": "72x64"}"#, "size 72 is over this server's limit of 64"),
            ("/v1/images/generations", #"{"prompt": "x", "n": 3}"#, "n 3 is over this server's limit of 2 images"),
            ("/v1/images/generations", #"{"prompt": "x", "steps": 11}"#, "steps 11 is over this server's limit of 10"),
            ("/sdapi/v1/txt2img", #"{"height": 128}"#, "height 128 is over this server's limit of 64"),
            ("/sdapi/v1/txt2img", #"{"batch_size": 2, "n_iter": 2}"#, "batch_size × n_iter = 2 × 2 is over this server's limit of 2 images"),
            ("/api/jobs", #"{"steps": 20}"#, "steps 20 is over this server's limit of 10"),
        ]
        for (path, body, message) in cases {
            let reply = try await client.post(path, body)
            XCTAssertEqual(reply.status, 400, "\(path) \(body)")
            XCTAssertTrue(reply.text.contains(message), "\(path) \(body): \(reply.text)")
        }
        // Defaults stay within the caps: OpenAI's default steps (20) are lowered to the cap.
        let reply = try await client.post("/v1/images/generations", #"{"prompt": "x", "size": "32x32"}"#)
        XCTAssertEqual(reply.status, 200, reply.text)
    }

    /// 50 requests at once against 1 worker and a queue of 2: each is answered 200 or 429 (with
    /// Retry-After), none is lost, and the server still works afterwards.
    func testBurstOf50IsAnsweredAndTheServerSurvives() async throws {
        let (server, port) = try await TestServers.shared.server(.limited)
        let client = TestClient(port: port)
        let started = Date()
        let replies = try await withThrowingTaskGroup(of: HTTPReply.self) { group in
            for i in 0 ..< 50 {
                let path = i % 2 == 0 ? "/sdapi/v1/txt2img" : "/v1/images/generations"
                group.addTask {
                    try await client.post(path, #"{"prompt": "burst \#(i)", "steps": 8, "width": 32, "height": 32, "size": "32x32"}"#)
                }
            }
            var all: [HTTPReply] = []
            for try await reply in group { all.append(reply) }
            return all
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(replies.count, 50, "no request is lost")
        let ok = replies.filter { $0.status == 200 }, refused = replies.filter { $0.status == 429 }
        XCTAssertEqual(ok.count + refused.count, 50, "statuses: \(replies.map(\.status))")
        XCTAssertGreaterThanOrEqual(ok.count, 3, "the worker and the 2 queue places take work")
        XCTAssertGreaterThan(refused.count, 0, "a queue of 2 cannot hold 50")
        for reply in refused {
            XCTAssertGreaterThanOrEqual(Int(reply.headers["retry-after"] ?? "") ?? 0, 1, "Retry-After in seconds")
            XCTAssertTrue(reply.text.contains("the generation queue is full (2 waiting)"), reply.text)
        }
        for reply in ok { XCTAssertTrue(reply.text.contains("b64_json") || reply.text.contains("\"images\"")) }
        print("burst: \(ok.count) × 200, \(refused.count) × 429 in \(String(format: "%.2f", elapsed)) s")

        try await eventually("the queue drains") { server.queue.runningJobs.isEmpty && server.queue.pendingCount == 0 }
        let healthStatus = try await client.get("/health").status
        XCTAssertEqual(healthStatus, 200)
        let after = try await client.post("/sdapi/v1/txt2img", #"{"prompt": "after", "steps": 2, "width": 32, "height": 32}"#)
        XCTAssertEqual(after.status, 200)
        XCTAssertLessThanOrEqual(server.images.count, 3, "kept images stay within their cap")
    }

    func testURLImagesAreEvictedOldestFirst() async throws {
        let (server, port) = try await TestServers.shared.server(.limited)  // keeps 3 images
        let client = TestClient(port: port)
        var urls: [String] = []
        for _ in 0 ..< 3 {
            let reply = try await client.post("/v1/images/generations",
                                              #"{"prompt": "x", "size": "32x32", "steps": 1, "n": 2, "response_format": "url"}"#)
            XCTAssertEqual(reply.status, 200, reply.text)
            urls += (try reply.object()["data"] as? [[String: Any]] ?? []).compactMap { $0["url"] as? String }
        }
        XCTAssertEqual(urls.count, 6)
        XCTAssertEqual(server.images.count, 3)
        let paths = urls.map { String($0.dropFirst("http://127.0.0.1:\(port)".count)) }
        for (i, path) in paths.enumerated() {
            let status = try await client.get(path).status
            XCTAssertEqual(status, i < 3 ? 404 : 200, "image \(i)")
        }
    }

    func testTwoWorkersRunTwoJobsAtOnceWithTheSameResults() async throws {
        let (server, port) = try await TestServers.shared.server(.twoWorkers)
        let client = TestClient(port: port)
        let body = #"{"prompt": "twins", "steps": 40, "width": 32, "height": 32, "seed": 11, "sampler_name": "DDIM"}"#
        async let a = client.post("/sdapi/v1/txt2img", body)
        async let b = client.post("/sdapi/v1/txt2img", body)
        try await eventually("a job runs") { !server.queue.runningJobs.isEmpty }
        var overlapped = false
        try await eventually("the jobs end") {
            if server.queue.runningJobs.count == 2 { overlapped = true }
            return server.queue.runningJobs.isEmpty && server.queue.pendingCount == 0
        }
        let (first, second) = try await (a, b)
        XCTAssertTrue(overlapped, "two workers ran the jobs at the same time")
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(try first.object()["images"] as? [String], try second.object()["images"] as? [String],
                       "concurrent generations on one model give the same image")
    }
}
