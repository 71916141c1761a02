import XCTest

/// `--api-key`: every route but the page's static assets needs `Authorization: Bearer KEY`.
final class AuthTests: XCTestCase {
    func testMissingOrWrongKeyIs401() async throws {
        let (_, port) = try await TestServers.shared.server(.authenticated)
        let anonymous = TestClient(port: port)
        let wrong = TestClient(port: port, apiKey: "not-the-key")
        let cases: [(method: String, path: String)] = [
            ("GET", "/health"), ("GET", "/v1/models"), ("POST", "/v1/images/generations"), ("GET", "/sdapi/v1/progress"),
            ("POST", "/sdapi/v1/txt2img"), ("POST", "/api/jobs"), ("GET", "/api/config"), ("GET", "/images/x.png"),
            ("GET", "/no/such/route"),
        ]
        for (method, path) in cases {
            for client in [anonymous, wrong] {
                let reply = try await client.send(method, path, json: method == "POST" ? #"{"prompt": "x"}"# : nil)
                XCTAssertEqual(reply.status, 401, "\(method) \(path) with key \(client.apiKey ?? "none")")
                XCTAssertEqual(reply.headers["www-authenticate"], "Bearer")
                let message = path.hasPrefix("/sdapi/")
                    ? try reply.object()["detail"] as? String
                    : (try reply.object()["error"] as? [String: Any])?["message"] as? String
                XCTAssertEqual(message, client.apiKey == nil
                    ? "missing API key: send the header Authorization: Bearer <key>"
                    : "wrong API key in the Authorization header", path)
            }
        }
        // Other schemes, or the key alone, are refused too.
        for header in ["Basic \(TestServers.apiKey)", TestServers.apiKey, "Bearer", "Bearer \(TestServers.apiKey)x"] {
            let status = try await anonymous.get("/health", headers: ["Authorization": header]).status
            XCTAssertEqual(status, 401, header)
        }
    }

    func testRightKeyIsServed() async throws {
        let client = try await TestServers.client(.authenticated)
        let healthStatus = try await client.get("/health").status
        XCTAssertEqual(healthStatus, 200)
        let reply = try await client.post("/sdapi/v1/txt2img", #"{"prompt": "x", "steps": 2, "width": 32, "height": 32}"#)
        XCTAssertEqual(reply.status, 200, reply.text)
        let lowercaseStatus = try await client.get("/health", headers: ["Authorization": "bearer \(TestServers.apiKey)"]).status
        XCTAssertEqual(lowercaseStatus, 200, "the scheme is case-insensitive")
    }

    func testPageAssetsNeedNoKey() async throws {
        let (_, port) = try await TestServers.shared.server(.authenticated)
        let anonymous = TestClient(port: port)
        for path in ["/", "/index.html", "/app.js", "/app.css", "/favicon.svg"] {
            let status = try await anonymous.get(path).status
            XCTAssertEqual(status, 200, path)
        }
    }
}
