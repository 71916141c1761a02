import XCTest

/// `/health`, the page and its assets, `/api/config`, unknown routes.
final class PageAndHealthTests: XCTestCase {
    func testHealth() async throws {
        let reply = try await TestServers.client().get("/health")
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.text, #"{"status":"ok"}"#)
        XCTAssertEqual(reply.headers["content-type"], "application/json; charset=utf-8")
    }

    func testPageAndAssetsAreServedLocally() async throws {
        let client = try await TestServers.client()
        let page = try await client.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        for needle in [#"id="prompt""#, #"id="negative""#, #"id="sampler""#, #"id="steps""#, #"id="guidance""#, #"id="seed""#,
                       #"id="width""#, #"id="height""#, #"id="count""#, #"id="init-file""#, #"id="strength""#, #"id="gallery""#,
                       #"src="/app.js""#, #"href="/app.css""#] {
            XCTAssertTrue(page.text.contains(needle), "page lacks \(needle)")
        }
        // Offline: nothing is loaded from another host.
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://"), "page refers to another host")
        let script = try await client.get("/app.js")
        XCTAssertEqual(script.status, 200)
        XCTAssertEqual(script.headers["content-type"], "text/javascript; charset=utf-8")
        XCTAssertTrue(script.text.contains("/api/jobs"))
        XCTAssertFalse(script.text.contains("https://"))
        let style = try await client.get("/app.css")
        XCTAssertEqual(style.status, 200)
        XCTAssertEqual(style.headers["content-type"], "text/css; charset=utf-8")
        let icon = try await client.get("/favicon.svg")
        XCTAssertEqual(icon.headers["content-type"], "image/svg+xml")
    }

    func testConfigDescribesModelSamplersAndLimits() async throws {
        let config = try await TestServers.client().get("/api/config").object()
        XCTAssertEqual(config["model"] as? String, "sd1")
        XCTAssertEqual(config["default_size"] as? Int, 16)
        let samplers = try XCTUnwrap(config["samplers"] as? [[String: Any]])
        XCTAssertTrue(samplers.contains { $0["name"] as? String == "euler_a" && $0["display_name"] as? String == "Euler a" })
        let limits = try XCTUnwrap(config["limits"] as? [String: Any])
        XCTAssertEqual(limits["max_size"] as? Int, 1024)
    }

    func testUnknownRoutesAre404InTheFamilysShape() async throws {
        let client = try await TestServers.client()
        let openAI = try await client.get("/v1/nothing")
        XCTAssertEqual(openAI.status, 404)
        let error = try XCTUnwrap(try openAI.object()["error"] as? [String: Any])
        XCTAssertEqual(error["type"] as? String, "invalid_request_error")
        XCTAssertEqual(error["message"] as? String, "no route for GET /v1/nothing")

        let a1111 = try await client.get("/sdapi/v1/nothing")
        XCTAssertEqual(a1111.status, 404)
        XCTAssertEqual(try a1111.object()["detail"] as? String, "no route for GET /sdapi/v1/nothing")

        // A known path with the wrong method is not routed either.
        let wrongMethod = try await client.get("/v1/images/generations")
        XCTAssertEqual(wrongMethod.status, 404)
        let plain = try await client.get("/no/such/page")
        XCTAssertEqual(plain.status, 404)
    }

    func testUnknownJobAndImageAre404() async throws {
        let client = try await TestServers.client()
        let job = try await client.get("/api/jobs/0123456789abcdef")
        XCTAssertEqual(job.status, 404)
        XCTAssertEqual((try job.object()["error"] as? [String: Any])?["message"] as? String, "no job 0123456789abcdef")
        let deleteStatus = try await client.send("DELETE", "/api/jobs/nope").status
        XCTAssertEqual(deleteStatus, 404)
        let eventsStatus = try await client.get("/api/jobs/nope/events").status
        XCTAssertEqual(eventsStatus, 404)
        let imageStatus = try await client.get("/images/nope.png").status
        XCTAssertEqual(imageStatus, 404)
    }
}
