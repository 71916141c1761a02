import DiffuseFormats
import XCTest

/// `POST /v1/images/generations`, `GET /v1/models` and their errors.
final class OpenAIRouteTests: XCTestCase {
    func testB64JSONIsTheDefault() async throws {
        let client = try await TestServers.client()
        let reply = try await client.post("/v1/images/generations", #"{"prompt": "a red apple", "size": "48x32", "steps": 3, "seed": 7}"#)
        XCTAssertEqual(reply.status, 200, reply.text)
        let body = try reply.object()
        XCTAssertNotNil(body["created"] as? Int)
        let data = try XCTUnwrap(body["data"] as? [[String: Any]])
        XCTAssertEqual(data.count, 1)
        let image = try TestImages.decode(try XCTUnwrap(data[0]["b64_json"] as? String))
        XCTAssertEqual(image.width, 48)
        XCTAssertEqual(image.height, 32)
        let info = try XCTUnwrap(image.textValue(forKeyword: "parameters"))
        XCTAssertTrue(info.hasPrefix("a red apple\n"), info)
        XCTAssertTrue(info.contains("Steps: 3"), info)
        XCTAssertTrue(info.contains("Seed: 7"), info)
        XCTAssertTrue(info.contains("Size: 48x32"), info)
        XCTAssertTrue(info.contains("Model: sd1"), info)
        XCTAssertNil(data[0]["url"])
    }

    func testURLFormatServesTheKeptImage() async throws {
        let client = try await TestServers.client()
        let reply = try await client.post("/v1/images/generations",
                                          #"{"prompt": "a lighthouse", "size": "32x32", "steps": 2, "n": 2, "response_format": "url"}"#)
        XCTAssertEqual(reply.status, 200, reply.text)
        let data = try XCTUnwrap(try reply.object()["data"] as? [[String: Any]])
        XCTAssertEqual(data.count, 2)
        let seeds = data.compactMap { $0["seed"] as? Int }
        XCTAssertEqual(seeds.count, 2)
        XCTAssertEqual(seeds[1], seeds[0] + 1, "image i uses seed + i")
        for entry in data {
            let url = try XCTUnwrap(entry["url"] as? String)
            XCTAssertTrue(url.hasPrefix("http://127.0.0.1:\(client.port)/images/"), url)
            XCTAssertTrue(url.hasSuffix(".png"))
            XCTAssertNil(entry["b64_json"])
            let path = String(url.dropFirst("http://127.0.0.1:\(client.port)".count))
            let png = try await client.get(path)
            XCTAssertEqual(png.status, 200)
            XCTAssertEqual(png.headers["content-type"], "image/png")
            let image = try PNGDecoder.decode(png.body, name: path)
            XCTAssertEqual(image.width, 32)
        }
    }

    func testModels() async throws {
        let body = try await TestServers.client().get("/v1/models").object()
        XCTAssertEqual(body["object"] as? String, "list")
        let models = try XCTUnwrap(body["data"] as? [[String: Any]])
        XCTAssertEqual(models.count, 1)
        XCTAssertEqual(models[0]["id"] as? String, "sd1")
        XCTAssertEqual(models[0]["object"] as? String, "model")
    }

    /// Each bad request → 400 with `{"error": {"message", "type": "invalid_request_error", "param"}}`
    /// whose message names what is wrong.
    func testBadInputIsA400NamingTheProblem() async throws {
        let client = try await TestServers.client()
        let cases: [(body: String, param: String?, message: String)] = [
            (#"{"prompt": "a cat","#, nil, "malformed JSON body"),
            ("", nil, "request body is empty"),
            ("[1, 2]", nil, "must be a JSON object, not an array"),
            (#"{"size": "32x32"}"#, "prompt", "prompt is required"),
            (#"{"prompt": 42}"#, "prompt", "prompt must be a string, not a number"),
            (#"{"prompt": "a", "n": "2"}"#, "n", "n must be a whole number, not a string"),
            (#"{"prompt": "a", "n": 1.5}"#, "n", "n must be a whole number, not 1.5"),
            (#"{"prompt": "a", "n": 0}"#, "n", "n must be at least 1, not 0"),
            (#"{"prompt": "a", "n": -2}"#, "n", "n must be at least 1, not -2"),
            (#"{"prompt": "a", "n": 9}"#, "n", "n 9 is over this server's limit of 8 images"),
            (#"{"prompt": "a", "size": "big"}"#, "size", "size must look like \"512x512\""),
            (#"{"prompt": "a", "size": "36x32"}"#, "size", "size must be a positive multiple of 8, not 36"),
            (#"{"prompt": "a", "size": "2048x32"}"#, "size", "size 2048 is over this server's limit of 1024"),
            (#"{"prompt": "a", "size": 512}"#, "size", "size must be a string, not a number"),
            (#"{"prompt": "a", "response_format": "jpeg"}"#, "response_format", "response_format must be \"b64_json\" or \"url\""),
            (#"{"prompt": "a", "steps": 0}"#, "steps", "steps must be at least 1, not 0"),
            (#"{"prompt": "a", "steps": 5001}"#, "steps", "steps 5001 is over this server's limit of 5000"),
            (#"{"prompt": "a", "sampler": "warp drive"}"#, "sampler", "unknown sampler \"warp drive\""),
            (#"{"prompt": "a", "seed": -5}"#, "seed", "seed must be between -1 and"),
            (#"{"prompt": "a", "guidance_scale": true}"#, "guidance_scale", "guidance_scale must be a number, not a boolean"),
            // Deep nesting is parsed within the decoder's depth limit, or refused past it.
            (#"{"prompt": "# + String(repeating: "[", count: 400) + String(repeating: "]", count: 400) + "}", "prompt",
             "prompt must be a string, not an array"),
            (#"{"prompt": "# + String(repeating: "[", count: 100_000), nil, "malformed JSON body"),
        ]
        for (body, param, message) in cases {
            let reply = try await client.post("/v1/images/generations", body)
            XCTAssertEqual(reply.status, 400, "\(body) → \(reply.text)")
            let error = try XCTUnwrap(try reply.object()["error"] as? [String: Any], body)
            XCTAssertEqual(error["type"] as? String, "invalid_request_error", body)
            XCTAssertTrue((error["message"] as? String ?? "").contains(message), "\(body) → \(error["message"] ?? "nil")")
            XCTAssertEqual(error["param"] as? String, param, body)
        }
    }
}
