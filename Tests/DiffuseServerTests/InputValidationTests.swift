import Foundation
import XCTest

/// Input refused before any work (NUL characters, guidance), and the pipeline's own errors named
/// in each API's spelling.
final class InputValidationTests: XCTestCase {
    /// The field an error reply names: OpenAI's and the job API's `param`, or A1111's `detail`.
    private func errorText(_ reply: HTTPReply) throws -> (param: String?, message: String) {
        let body = try reply.object()
        if let detail = body["detail"] as? String { return (nil, detail) }
        let error = try XCTUnwrap(body["error"] as? [String: Any], reply.text)
        return (error["param"] as? String, error["message"] as? String ?? "")
    }

    /// A NUL cannot be stored in the PNG's text chunk: refused up front with a 400 naming the field.
    func testNULInAPromptIsA400NamingTheField() async throws {
        let client = try await TestServers.client()
        let initImage = try TestImages.base64(try TestImages.gradient(width: 16, height: 16))
        let cases: [(path: String, body: String, field: String)] = [
            ("/v1/images/generations", #"{"prompt": "a\u0000b", "size": "16x16", "steps": 1}"#, "prompt"),
            ("/v1/images/generations", #"{"prompt": "a", "negative_prompt": "\u0000", "size": "16x16", "steps": 1}"#, "negative_prompt"),
            ("/sdapi/v1/txt2img", #"{"prompt": "a\u0000", "width": 16, "height": 16, "steps": 1}"#, "prompt"),
            ("/sdapi/v1/txt2img", #"{"prompt": "a", "negative_prompt": "b\u0000c", "width": 16, "height": 16, "steps": 1}"#, "negative_prompt"),
            ("/sdapi/v1/img2img", #"{"prompt": "\u0000", "init_images": ["\#(initImage)"], "steps": 2}"#, "prompt"),
            ("/api/jobs", #"{"prompt": "x\u0000", "width": 16, "height": 16, "steps": 1}"#, "prompt"),
            ("/api/jobs", #"{"prompt": "x", "negative_prompt": "\u0000", "width": 16, "height": 16, "steps": 1}"#, "negative_prompt"),
        ]
        for (path, body, field) in cases {
            let started = Date()
            let reply = try await client.post(path, body)
            XCTAssertEqual(reply.status, 400, "\(path) \(body) → \(reply.text)")
            let (param, message) = try errorText(reply)
            if !path.hasPrefix("/sdapi/") { XCTAssertEqual(param, field, body) }
            XCTAssertTrue(message.hasPrefix("\(field) must not contain a NUL character"), "\(path): \(message)")
            XCTAssertLessThan(Date().timeIntervalSince(started), 5, "refused before generating")
        }
    }

    /// Guidance must be a finite number ≥ 0 on every route.
    func testGuidanceMustBeFiniteAndNotNegative() async throws {
        let client = try await TestServers.client()
        let initImage = try TestImages.base64(try TestImages.gradient(width: 16, height: 16))
        let routes: [(path: String, field: String, rest: String)] = [
            ("/v1/images/generations", "guidance_scale", #""prompt": "a", "size": "16x16", "steps": 1"#),
            ("/sdapi/v1/txt2img", "cfg_scale", #""prompt": "a", "width": 16, "height": 16, "steps": 1"#),
            ("/sdapi/v1/img2img", "cfg_scale", #""prompt": "a", "init_images": ["\#(initImage)"], "steps": 2"#),
            ("/api/jobs", "guidance", #""prompt": "a", "width": 16, "height": 16, "steps": 1"#),
        ]
        for (path, field, rest) in routes {
            for value in ["-5", #""nan""#, #""inf""#, "-0.001"] {
                let reply = try await client.post(path, #"{\#(rest), "\#(field)": \#(value)}"#)
                XCTAssertEqual(reply.status, 400, "\(path) \(field)=\(value) → \(reply.text)")
                let (param, message) = try errorText(reply)
                if !path.hasPrefix("/sdapi/") { XCTAssertEqual(param, field, "\(path) \(value)") }
                XCTAssertTrue(message.hasPrefix(field), "\(path) \(value): \(message)")
            }
            // JSON has no infinity: a number that overflows a double is refused too.
            let overflow = try await client.post(path, #"{\#(rest), "\#(field)": 1e999}"#)
            XCTAssertEqual(overflow.status, 400, "\(path) 1e999 → \(overflow.text)")
            let zero = try await client.post(path, #"{\#(rest), "\#(field)": 0}"#)
            XCTAssertEqual(zero.status, path == "/api/jobs" ? 202 : 200, "\(path) guidance 0 → \(zero.text)")
        }
    }

    /// The pipeline's `PipelineError.parameter` reaches the client as the request's own field.
    func testPipelineErrorsNameTheRequestField() async throws {
        let client = try await TestServers.client(.inpainting)  // needs an init image and a mask
        let openAI = try await client.post("/v1/images/generations", #"{"prompt": "a", "size": "16x16", "steps": 2}"#)
        XCTAssertEqual(openAI.status, 400, openAI.text)
        let (param, message) = try errorText(openAI)
        XCTAssertEqual(param, "mask")
        XCTAssertTrue(message.contains("inpainting model"), message)
        XCTAssertFalse(message.contains("--"), "no command-line flag: \(message)")

        let job = try await client.post("/api/jobs", #"{"prompt": "a", "width": 16, "height": 16, "steps": 2}"#)
        let id = try XCTUnwrap(try job.object()["id"] as? String, job.text)
        var error: [String: Any] = [:]
        try await eventually("the job fails") {
            error = try await client.get("/api/jobs/\(id)").object()["error"] as? [String: Any] ?? [:]
            return !error.isEmpty
        }
        XCTAssertEqual(error["status"] as? Int, 400)
        XCTAssertEqual(error["param"] as? String, "mask")
    }

    /// A generation that diverges (NaN weights) is a JSON 500 naming the cause; the connection
    /// and the server survive it.
    func testNonFiniteImageIsAJSONErrorNotACrash() async throws {
        let (_, port) = try await TestServers.shared.server(.diverging)
        let replies = try await RawHTTP.onThread { () -> [HTTPReply] in
            let connection = try RawConnection(port: port, timeout: 60)
            defer { connection.close() }
            return try [
                ("/v1/images/generations", #"{"prompt": "a", "size": "16x16", "steps": 2}"#),
                ("/sdapi/v1/txt2img", #"{"prompt": "a", "width": 16, "height": 16, "steps": 2}"#),
                ("/health", ""),
            ].map { path, body in
                try connection.send(RawHTTP.requestData(method: body.isEmpty ? "GET" : "POST", path: path, port: port,
                                                        headers: [:], body: body.isEmpty ? nil : Data(body.utf8)))
                return try RawHTTP.readReply(connection)
            }
        }
        XCTAssertEqual(replies.map(\.status), [500, 500, 200])
        let openAI = try XCTUnwrap(try replies[0].object()["error"] as? [String: Any])
        XCTAssertEqual(openAI["type"] as? String, "server_error")
        XCTAssertTrue((openAI["message"] as? String ?? "").contains("non-finite values"), "\(openAI)")
        XCTAssertTrue((try replies[1].object()["detail"] as? String ?? "").contains("non-finite values"), replies[1].text)
    }
}
