import XCTest

/// `--api-key`: every route but the page's static assets, `/health` and the image links needs
/// `Authorization: Bearer KEY` or HTTP Basic with the key as password (or as `user:pass`).
final class AuthTests: XCTestCase {
    func testMissingOrWrongKeyIs401() async throws {
        let (_, port) = try await TestServers.shared.server(.authenticated)
        let anonymous = TestClient(port: port)
        let wrong = TestClient(port: port, apiKey: "not-the-key")
        let cases: [(method: String, path: String)] = [
            ("GET", "/v1/models"), ("POST", "/v1/images/generations"), ("GET", "/sdapi/v1/progress"),
            ("POST", "/sdapi/v1/txt2img"), ("POST", "/api/jobs"), ("GET", "/api/config"), ("GET", "/no/such/route"),
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
                    ? "missing API key: send the header Authorization: Bearer <key> (or HTTP Basic with the key as password)"
                    : "wrong API key in the Authorization header", path)
            }
        }
        // Other schemes, the key alone, or Basic with another password are refused too.
        let wrongBasic = ["webui:not-the-key", "\(TestServers.apiKey):x", TestServers.apiKey, ":"]
            .map { "Basic " + Data($0.utf8).base64EncodedString() }
        for header in ["Basic \(TestServers.apiKey)", TestServers.apiKey, "Bearer", "Bearer \(TestServers.apiKey)x", "Basic"] + wrongBasic {
            let status = try await anonymous.get("/v1/models", headers: ["Authorization": header]).status
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

    /// webuiapi's `set_auth(user, password)` (A1111's `--api-auth user:pass`) sends HTTP Basic:
    /// accepted when the password is the key, whatever the user name, or when `user:pass` is.
    func testBasicAuthWithTheKeyIsServed() async throws {
        let (_, port) = try await TestServers.shared.server(.authenticated)
        let anonymous = TestClient(port: port)
        for credentials in ["webui:\(TestServers.apiKey)", ":\(TestServers.apiKey)"] {
            let header = "Basic " + Data(credentials.utf8).base64EncodedString()
            let models = try await anonymous.get("/sdapi/v1/sd-models", headers: ["Authorization": header])
            XCTAssertEqual(models.status, 200, credentials)
            let reply = try await anonymous.send("POST", "/sdapi/v1/txt2img", json: #"{"prompt": "x", "steps": 1, "width": 16, "height": 16}"#,
                                                 headers: ["Authorization": header])
            XCTAssertEqual(reply.status, 200, "\(credentials): \(reply.text)")
        }
    }

    /// A1111 users keep their `--api-auth user:pass`: `--api-key user:pass` accepts exactly that pair.
    func testBasicAuthWithUserAndPasswordAsTheKey() async throws {
        let (_, port) = try await TestServers.shared.server(.basicAuth)  // key "webui:secret-pass"
        let anonymous = TestClient(port: port)
        for (credentials, status) in [("webui:secret-pass", 200), ("other:secret-pass", 401), ("webui:other", 401)] {
            let header = "Basic " + Data(credentials.utf8).base64EncodedString()
            let reply = try await anonymous.get("/sdapi/v1/options", headers: ["Authorization": header])
            XCTAssertEqual(reply.status, status, credentials)
        }
        let bearerStatus = try await anonymous.get("/sdapi/v1/options", headers: ["Authorization": "Bearer webui:secret-pass"]).status
        XCTAssertEqual(bearerStatus, 200)
    }

    /// `/health` is for load balancers and scripts that hold no key.
    func testHealthNeedsNoKey() async throws {
        let (_, port) = try await TestServers.shared.server(.authenticated)
        let reply = try await TestClient(port: port).get("/health")
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.text, #"{"status":"ok"}"#)
    }

    /// `response_format: url` links work in an `<img>` (no header): their ids are unguessable
    /// (122 random bits); a made-up id is a 404.
    func testImageLinksNeedNoKey() async throws {
        let client = try await TestServers.client(.authenticated)
        let reply = try await client.post("/v1/images/generations", #"{"prompt": "x", "size": "16x16", "steps": 1, "response_format": "url"}"#)
        XCTAssertEqual(reply.status, 200, reply.text)
        let url = try XCTUnwrap((try reply.object()["data"] as? [[String: Any]])?.first?["url"] as? String)
        let path = String(url.dropFirst("http://127.0.0.1:\(client.port)".count))
        XCTAssertTrue(path.range(of: "^/images/[0-9a-f]{32}\\.png$", options: .regularExpression) != nil, path)
        let anonymous = TestClient(port: client.port)
        let image = try await anonymous.get(path)
        XCTAssertEqual(image.status, 200)
        XCTAssertEqual(image.headers["content-type"], "image/png")
        let guessedStatus = try await anonymous.get("/images/0123456789abcdef0123456789abcdef.png").status
        XCTAssertEqual(guessedStatus, 404)
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
