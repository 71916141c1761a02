import Foundation
import XCTest

/// Pooled clients (Python `requests`, `http.client`, the `openai` client) send request after
/// request on one connection: every route, the generation routes included, must keep it open.
final class KeepAliveTests: XCTestCase {
    func testHundredGenerationsOnOneConnection() async throws {
        let (_, port) = try await TestServers.shared.server(.standard)
        let initImage = try TestImages.base64(try TestImages.gradient(width: 16, height: 16))
        let requests: [(path: String, body: String)] = [
            ("/v1/images/generations", #"{"prompt": "a", "size": "16x16", "steps": 1}"#),
            ("/sdapi/v1/txt2img", #"{"prompt": "b", "width": 16, "height": 16, "steps": 1}"#),
            ("/sdapi/v1/img2img", #"{"prompt": "c", "init_images": ["\#(initImage)"], "denoising_strength": 0.5, "steps": 2}"#),
        ]
        let failures = try await RawHTTP.onThread { () -> [String] in
            let connection = try RawConnection(port: port, timeout: 60)
            defer { connection.close() }
            var failures: [String] = []
            for i in 0 ..< 100 {
                let (path, body) = requests[i % requests.count]
                let data = RawHTTP.requestData(method: "POST", path: path, port: port,
                                               headers: ["Content-Type": "application/json"], body: Data(body.utf8))
                do {
                    guard try connection.send(data) else { throw TestFailure("the server closed the connection") }
                    let reply = try RawHTTP.readReply(connection)
                    if reply.status != 200 { failures.append("call \(i) \(path): \(reply.status) \(reply.text.prefix(200))") }
                    if reply.headers["connection"]?.lowercased() == "close" { failures.append("call \(i) \(path): Connection: close") }
                } catch {
                    failures.append("call \(i) \(path): \(error)")
                    break
                }
            }
            return failures
        }
        XCTAssertEqual(failures, [], "100 generation calls on one connection")
    }

    /// A generation answered with an error keeps the connection too.
    func testErrorRepliesKeepTheConnection() async throws {
        let (_, port) = try await TestServers.shared.server(.standard)
        let statuses = try await RawHTTP.onThread { () -> [Int] in
            let connection = try RawConnection(port: port, timeout: 30)
            defer { connection.close() }
            var statuses: [Int] = []
            for body in [#"{"prompt": "x", "steps": 0}"#, #"{"prompt": "x", "steps": 1, "width": 16, "height": 16}"#, "{", "{}"] {
                try connection.send(RawHTTP.requestData(method: "POST", path: "/sdapi/v1/txt2img", port: port,
                                                        headers: [:], body: Data(body.utf8)))
                statuses.append(try RawHTTP.readReply(connection).status)
            }
            return statuses
        }
        XCTAssertEqual(statuses, [400, 200, 400, 200])
    }
}
