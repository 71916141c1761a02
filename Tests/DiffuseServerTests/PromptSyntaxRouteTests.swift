import Foundation
import XCTest

/// `prompt_syntax`: A1111's syntax by default on `/sdapi/`, plain on the OpenAI and job APIs, and
/// bad values or bad emphasis refused with a 400 naming the field.
final class PromptSyntaxRouteTests: XCTestCase {
    private func firstImage(_ reply: HTTPReply) throws -> String {
        XCTAssertEqual(reply.status, 200, reply.text)
        let images = try XCTUnwrap(try reply.object()["images"] as? [String], reply.text)
        return try XCTUnwrap(images.first)
    }

    func testA1111RoutesReadA1111SyntaxByDefault() async throws {
        let client = try await TestServers.client()
        let common = #""negative_prompt": "blurry", "seed": 9, "steps": 2, "width": 48, "height": 32"#
        let prompt = #""prompt": "a (red:1.6) apple on a [wooden] table""#
        let byDefault = try firstImage(try await client.post("/sdapi/v1/txt2img", "{\(prompt), \(common)}"))
        let a1111 = try firstImage(try await client.post("/sdapi/v1/txt2img", #"{\#(prompt), \#(common), "prompt_syntax": "a1111"}"#))
        let plain = try firstImage(try await client.post("/sdapi/v1/txt2img", #"{\#(prompt), \#(common), "prompt_syntax": "plain"}"#))
        XCTAssertEqual(byDefault, a1111)
        XCTAssertNotEqual(byDefault, plain, "emphasis changes the image")
        // A prompt of 3 chunks (over 150 tokens) with BREAK and an extra-network tag runs.
        let long = Array(repeating: "a castle on a hill, golden light", count: 25).joined(separator: ", ")
        let reply = try await client.post("/sdapi/v1/txt2img", #"{"prompt": "\#(long) BREAK <hypernet:style:0.7> (sky:1.2)", \#(common)}"#)
        XCTAssertEqual(reply.status, 200, reply.text)
        // A LoRA tag is loaded from the server's LoRA folder (LoRARouteTests); this one has none.
        let lora = try await client.post("/sdapi/v1/txt2img", #"{"prompt": "a hill <lora:style:0.7>", \#(common)}"#)
        XCTAssertEqual(lora.status, 400, lora.text)
        XCTAssertTrue(lora.text.contains(#"prompt: <lora:style:0.7>: there is no LoRA folder"#), lora.text)
    }

    func testOpenAIAndJobsArePlainUnlessAsked() async throws {
        let client = try await TestServers.client()
        let body = #""prompt": "a (red:1.6) apple", "size": "48x32", "steps": 2, "seed": 4"#
        func image(_ reply: HTTPReply) throws -> String {
            XCTAssertEqual(reply.status, 200, reply.text)
            let data = try XCTUnwrap(try reply.object()["data"] as? [[String: Any]], reply.text)
            return try XCTUnwrap(data.first?["b64_json"] as? String)
        }
        let byDefault = try image(try await client.post("/v1/images/generations", "{\(body)}"))
        let plain = try image(try await client.post("/v1/images/generations", #"{\#(body), "prompt_syntax": "plain"}"#))
        let a1111 = try image(try await client.post("/v1/images/generations", #"{\#(body), "prompt_syntax": "a1111"}"#))
        XCTAssertEqual(byDefault, plain)
        XCTAssertNotEqual(byDefault, a1111)
        // Plain reads "(a:1.2.3)" as text; A1111 syntax refuses it before queueing.
        let job = try await client.post("/api/jobs", #"{"prompt": "(a:1.2.3)", "width": 16, "height": 16, "steps": 1}"#)
        XCTAssertEqual(job.status, 202, job.text)
        // Wait for it: a job still running when the test process exits would run into its teardown.
        let id = try XCTUnwrap(try job.object()["id"] as? String, job.text)
        var status = ""
        try await eventually("job \(id) ends", timeout: 120) {
            status = try await client.get("/api/jobs/\(id)").object()["status"] as? String ?? ""
            return ["succeeded", "failed", "cancelled"].contains(status)
        }
        XCTAssertEqual(status, "succeeded")
    }

    func testBadSyntaxIsA400NamingTheField() async throws {
        let client = try await TestServers.client()
        let cases: [(path: String, body: String, field: String, message: String)] = [
            ("/sdapi/v1/txt2img", #"{"prompt": "a", "prompt_syntax": "compel", "width": 16, "height": 16, "steps": 1}"#,
             "prompt_syntax", #"prompt_syntax must be "plain" or "a1111", not "compel""#),
            ("/v1/images/generations", #"{"prompt": "a", "prompt_syntax": 1, "size": "16x16", "steps": 1}"#,
             "prompt_syntax", "prompt_syntax must be a string"),
            ("/api/jobs", #"{"prompt": "a", "prompt_syntax": "A1111", "width": 16, "height": 16, "steps": 1}"#,
             "prompt_syntax", "prompt_syntax must be"),
            ("/sdapi/v1/txt2img", #"{"prompt": "a (cat:1.2.3)", "width": 16, "height": 16, "steps": 1}"#,
             "prompt", #"prompt: the emphasis weight "1.2.3" is not a number"#),
            ("/sdapi/v1/txt2img", #"{"prompt": "a", "negative_prompt": "(x:..)", "width": 16, "height": 16, "steps": 1}"#,
             "negative_prompt", "negative_prompt: the emphasis weight"),
            ("/sdapi/v1/txt2img", #"{"prompt": "a <lora:x:strong>", "width": 16, "height": 16, "steps": 1}"#,
             "prompt", #"prompt: <lora:x:strong>: the multiplier "strong" in an extra-network tag is not a number"#),
            ("/v1/images/generations", #"{"prompt": "(a:1.2.3)", "prompt_syntax": "a1111", "size": "16x16", "steps": 1}"#,
             "prompt", "prompt: the emphasis weight"),
            ("/api/jobs", #"{"prompt": "b", "negative_prompt": "(a:1.2.3)", "prompt_syntax": "a1111", "width": 16, "height": 16, "steps": 1}"#,
             "negative_prompt", "negative_prompt: the emphasis weight"),
        ]
        for (path, body, field, message) in cases {
            let reply = try await client.post(path, body)
            XCTAssertEqual(reply.status, 400, "\(path) \(body) → \(reply.text)")
            let object = try reply.object()
            if let detail = object["detail"] as? String {
                XCTAssertTrue(detail.contains(message), "\(path): expected \(message), got \(detail)")
            } else {
                let error = try XCTUnwrap(object["error"] as? [String: Any], reply.text)
                XCTAssertEqual(error["param"] as? String, field, reply.text)
                XCTAssertTrue((error["message"] as? String ?? "").contains(message), "\(path): \(reply.text)")
            }
        }
    }

    /// `serve --embedding`: listed by `/sdapi/v1/embeddings` in A1111's shape, and used by the
    /// word in prompts and negative prompts, in both syntaxes.
    func testEmbeddingsAreListedAndUsed() async throws {
        let client = try await TestServers.client(.embeddings)
        let list = try await client.get("/sdapi/v1/embeddings").object()
        let loaded = try XCTUnwrap(list["loaded"] as? [String: [String: Any]], "\(list)")
        XCTAssertEqual(Set(loaded.keys), ["mystyle", "learned_embeds", "<cat-toy>"])
        XCTAssertEqual(loaded["mystyle"]?["vectors"] as? Int, 2)
        XCTAssertEqual(loaded["mystyle"]?["shape"] as? Int, 32)
        let common = #""seed": 3, "steps": 2, "width": 48, "height": 32"#
        for syntax in ["a1111", "plain"] {
            var images: [String] = []
            for (prompt, negative) in [("a castle, mystyle", ""), ("a castle, my style", ""), ("a castle", "mystyle"), ("a castle", "my style")] {
                let body = #"{"prompt": "\#(prompt)", "negative_prompt": "\#(negative)", "prompt_syntax": "\#(syntax)", \#(common)}"#
                images.append(try firstImage(try await client.post("/sdapi/v1/txt2img", body)))
            }
            XCTAssertNotEqual(images[0], images[1], "\(syntax): the embedding changes the prompt")
            XCTAssertNotEqual(images[2], images[3], "\(syntax): the embedding changes the negative prompt")
        }
    }
}
