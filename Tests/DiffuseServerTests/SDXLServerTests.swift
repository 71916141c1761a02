import DiffuseFormats
import XCTest

/// The server with an SDXL folder loaded (Fixtures/sdxl/base): a request gives diffusers' image of
/// the same settings (tools/make_sdxl_fixtures.py's `txt2img_euler` case), and a bad size is a 400
/// naming the field.
final class SDXLServerTests: XCTestCase {
    func testSDXLFolderServesDiffusersImage() async throws {
        let client = try await TestServers.client(.sdxl)
        let reply = try await client.post("/v1/images/generations", #"""
        {"prompt": "a photograph of an astronaut riding a horse", "negative_prompt": "blurry, low quality, watermark",
         "size": "48x32", "steps": 5, "seed": 100, "guidance_scale": 5, "sampler": "euler"}
        """#)
        XCTAssertEqual(reply.status, 200, reply.text)
        let data = try XCTUnwrap(try reply.object()["data"] as? [[String: Any]])
        let png = try TestImages.decode(try XCTUnwrap(data.first?["b64_json"] as? String))
        let info = try XCTUnwrap(png.textValue(forKeyword: "parameters"))
        XCTAssertTrue(info.contains("Model: base"), info)
        let image = try png.converted(toChannels: 3)
        let expected = try PNGImage(contentsOf: TestServers.fixtures.appendingPathComponent("sdxl/base/reference/txt2img_euler_0.png"))
            .converted(toChannels: 3)
        XCTAssertEqual(image.width, expected.width)
        let diff = zip(image.pixels, expected.pixels).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
        print("[parity] sdxl server txt2img_euler: max channel difference \(diff)/255")
        XCTAssertLessThanOrEqual(diff, 1)
    }

    func testSDXLBadSizeIsA400() async throws {
        let client = try await TestServers.client(.sdxl)
        let reply = try await client.post("/v1/images/generations", #"{"prompt": "a", "size": "44x32", "steps": 1}"#)
        XCTAssertEqual(reply.status, 400, reply.text)
        XCTAssertTrue(reply.text.contains("size"), reply.text)
    }
}
