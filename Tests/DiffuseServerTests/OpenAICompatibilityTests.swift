import DiffuseFormats
import Foundation
import XCTest

/// The OpenAI client's `models.retrieve`, `images.edit` and `images.create_variation`.
final class OpenAICompatibilityTests: XCTestCase {
    func testRetrieveModel() async throws {
        let client = try await TestServers.client()
        let model = try await client.get("/v1/models/sd1")
        XCTAssertEqual(model.status, 200, model.text)
        XCTAssertEqual(try model.object()["id"] as? String, "sd1")
        XCTAssertEqual(try model.object()["object"] as? String, "model")
        let missing = try await client.get("/v1/models/dall-e-3")
        XCTAssertEqual(missing.status, 404)
        let error = try XCTUnwrap(try missing.object()["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "model_not_found")
        XCTAssertTrue((error["message"] as? String ?? "").contains("dall-e-3"))
    }

    /// An RGBA PNG whose left half is fully transparent (OpenAI's "edit here").
    private func transparentLeftHalf(width: Int, height: Int) throws -> Data {
        var pixels = [UInt8]()
        for _ in 0 ..< height { for x in 0 ..< width { pixels += [0, 0, 0, x < width / 2 ? 0 : 255] } }
        return try PNGEncoder.encode(try PNGImage(width: width, height: height, channels: 4, pixels: pixels))
    }

    func testEditIsInpainting() async throws {
        let client = try await TestServers.client()
        let image = try PNGEncoder.encode(try TestImages.gradient(width: 32, height: 24))
        let mask = try transparentLeftHalf(width: 32, height: 24)
        let reply = try await client.postForm("/v1/images/edits",
                                              fields: [("prompt", "a red door"), ("n", "2"), ("steps", "3"), ("seed", "5"), ("model", "dall-e-2")],
                                              files: [("image", "photo.png", image), ("mask", "mask.png", mask)])
        XCTAssertEqual(reply.status, 200, reply.text)
        let data = try XCTUnwrap(try reply.object()["data"] as? [[String: Any]])
        XCTAssertEqual(data.compactMap { $0["seed"] as? Int }, [5, 6])
        let result = try TestImages.decode(try XCTUnwrap(data[0]["b64_json"] as? String))
        XCTAssertEqual([result.width, result.height], [32, 24], "size defaults to the image's")
        let info = try XCTUnwrap(Infotext.parse(try XCTUnwrap(result.textValue(forKeyword: "parameters"))))
        XCTAssertEqual(info.prompt, "a red door")
        XCTAssertEqual(info.steps, 3)
        XCTAssertTrue(info.extra.contains { $0.key == "Denoising strength" }, "\(info.extra)")

        // Without a mask, the image's own transparent pixels are the mask; `image[]` and `size` are read.
        let url = try await client.postForm("/v1/images/edits",
                                            fields: [("prompt", "a door"), ("size", "16x16"), ("steps", "2"), ("response_format", "url")],
                                            files: [("image[]", "photo.png", mask)])
        XCTAssertEqual(url.status, 200, url.text)
        XCTAssertNotNil((try url.object()["data"] as? [[String: Any]])?.first?["url"] as? String)
    }

    func testVariationIsImg2ImgAtStrength06() async throws {
        let client = try await TestServers.client()
        let image = try PNGEncoder.encode(try TestImages.gradient(width: 24, height: 16))
        let reply = try await client.postForm("/v1/images/variations", fields: [("steps", "5"), ("seed", "9")],
                                              files: [("image", "photo.png", image)])
        XCTAssertEqual(reply.status, 200, reply.text)
        let data = try XCTUnwrap(try reply.object()["data"] as? [[String: Any]])
        XCTAssertEqual(data.count, 1)
        let result = try TestImages.decode(try XCTUnwrap(data[0]["b64_json"] as? String))
        XCTAssertEqual([result.width, result.height], [24, 16])
        let info = try XCTUnwrap(Infotext.parse(try XCTUnwrap(result.textValue(forKeyword: "parameters"))))
        XCTAssertEqual(info.prompt, "", "a variation has no prompt")
        XCTAssertEqual(info.extra.first { $0.key == "Denoising strength" }?.value, "0.6")
    }

    func testBadFormsAre400NamingTheField() async throws {
        let client = try await TestServers.client()
        let image = try PNGEncoder.encode(try TestImages.gradient(width: 16, height: 16))
        let opaqueMask = try PNGEncoder.encode(try TestImages.gradient(width: 16, height: 16).converted(toChannels: 4))
        let cases: [(path: String, fields: [(String, String)], files: [(name: String, filename: String, data: Data)], param: String)] = [
            ("/v1/images/edits", [("prompt", "x")], [], "image"),
            ("/v1/images/edits", [], [("image", "a.png", image), ("mask", "m.png", try transparentLeftHalf(width: 16, height: 16))], "prompt"),
            ("/v1/images/edits", [("prompt", "x")], [("image", "a.png", image)], "mask"),
            ("/v1/images/edits", [("prompt", "x")], [("image", "a.png", image), ("mask", "m.png", opaqueMask)], "mask"),
            ("/v1/images/edits", [("prompt", "x")], [("image", "a.png", Data("not a png".utf8))], "image"),
            ("/v1/images/variations", [("n", "zero")], [("image", "a.png", image)], "n"),
            ("/v1/images/variations", [("size", "20x16")], [("image", "a.png", image)], "size"),
            ("/v1/images/variations", [("guidance_scale", "nan")], [("image", "a.png", image)], "guidance_scale"),
            ("/v1/images/variations", [("guidance_scale", "inf")], [("image", "a.png", image)], "guidance_scale"),
            ("/v1/images/variations", [("guidance_scale", "-5")], [("image", "a.png", image)], "guidance_scale"),
            ("/v1/images/variations", [("response_format", "jpeg")], [("image", "a.png", image)], "response_format"),
        ]
        for (path, fields, files, param) in cases {
            let reply = try await client.postForm(path, fields: fields, files: files)
            XCTAssertEqual(reply.status, 400, "\(path) \(fields) → \(reply.text)")
            let error = try XCTUnwrap(try reply.object()["error"] as? [String: Any], reply.text)
            XCTAssertEqual(error["param"] as? String, param, "\(path) \(fields): \(error)")
        }
        // Not multipart at all.
        let json = try await client.post("/v1/images/edits", #"{"prompt": "x"}"#)
        XCTAssertEqual(json.status, 400)
        XCTAssertTrue(json.text.contains("multipart/form-data"), json.text)
    }
}
