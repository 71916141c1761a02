import Foundation
import XCTest

/// Browser pages on other origins (CORS preflight and `Access-Control-Allow-Origin`), and `HEAD`
/// wherever `GET` works.
final class CORSAndHEADTests: XCTestCase {
    func testPreflightIsA204WithTheAllowHeaders() async throws {
        // On the authenticated server: a preflight carries no credentials and must still pass.
        let (_, port) = try await TestServers.shared.server(.authenticated)
        let anonymous = TestClient(port: port)
        for path in ["/v1/images/generations", "/sdapi/v1/txt2img", "/api/jobs", "/health", "/no/such/route"] {
            let reply = try await anonymous.send("OPTIONS", path, headers: [
                "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            ])
            XCTAssertEqual(reply.status, 204, path)
            XCTAssertEqual(reply.headers["access-control-allow-origin"], "*", path)
            let methods = reply.headers["access-control-allow-methods"] ?? ""
            for method in ["GET", "POST", "HEAD", "DELETE", "OPTIONS"] { XCTAssertTrue(methods.contains(method), "\(path): \(methods)") }
            let headers = (reply.headers["access-control-allow-headers"] ?? "").lowercased()
            XCTAssertTrue(headers.contains("authorization") && headers.contains("content-type"), headers)
            XCTAssertNotNil(reply.headers["access-control-max-age"])
        }
    }

    func testRepliesAllowAnyOrigin() async throws {
        let (_, port) = try await TestServers.shared.server(.authenticated)
        let anonymous = TestClient(port: port)
        let health = try await anonymous.get("/health", headers: ["Origin": "http://localhost:3000"])
        XCTAssertEqual(health.headers["access-control-allow-origin"], "*")
        let refused = try await anonymous.get("/v1/models", headers: ["Origin": "http://localhost:3000"])
        XCTAssertEqual(refused.status, 401)
        XCTAssertEqual(refused.headers["access-control-allow-origin"], "*", "errors too, so the page can read them")
        let generated = try await TestServers.client(.authenticated).post("/sdapi/v1/txt2img", #"{"prompt": "x", "steps": 1, "width": 16, "height": 16}"#)
        XCTAssertEqual(generated.headers["access-control-allow-origin"], "*")
    }

    func testHEADAnswersLikeGETWithoutABody() async throws {
        let client = try await TestServers.client()
        let generated = try await client.post("/v1/images/generations", #"{"prompt": "x", "size": "16x16", "steps": 1, "response_format": "url"}"#)
        let url = try XCTUnwrap((try generated.object()["data"] as? [[String: Any]])?.first?["url"] as? String)
        let image = String(url.dropFirst("http://127.0.0.1:\(client.port)".count))
        for path in ["/health", "/", "/app.js", "/v1/models", "/v1/models/sd1", "/sdapi/v1/samplers", "/sdapi/v1/options",
                     "/sdapi/v1/progress", "/api/config", image] {
            let get = try await client.get(path)
            let head = try await client.send("HEAD", path)
            XCTAssertEqual(head.status, 200, path)
            XCTAssertEqual(get.status, 200, path)
            XCTAssertEqual(head.headers["content-type"], get.headers["content-type"], path)
            if path != "/sdapi/v1/progress" {  // its numbers change between the calls
                XCTAssertEqual(head.headers["content-length"], String(get.body.count), path)
            }
            XCTAssertTrue(head.body.isEmpty, path)
        }
        // HEAD on one connection, then GET: the empty HEAD body does not desynchronize the stream.
        let (_, port) = try await TestServers.shared.server(.standard)
        let statuses = try await RawHTTP.onThread { () -> [Int] in
            let connection = try RawConnection(port: port, timeout: 30)
            defer { connection.close() }
            var statuses: [Int] = []
            for method in ["HEAD", "GET", "HEAD", "GET"] {
                try connection.send(RawHTTP.requestData(method: method, path: "/health", port: port, headers: [:], body: nil))
                let reply = try RawHTTP.readReply(connection, method: method)
                statuses.append(reply.status)
                if method == "GET" && reply.text != #"{"status":"ok"}"# { throw TestFailure("GET after HEAD read \(reply.text)") }
            }
            return statuses
        }
        XCTAssertEqual(statuses, [200, 200, 200, 200])
        let missing = try await client.send("HEAD", "/no/such/route")
        XCTAssertEqual(missing.status, 404)
    }
}
