import DiffuseFormats
import DiffuseServer
import Foundation
import XCTest

/// LoRAs through the server: `GET /sdapi/v1/loras` lists `--lora-dir`, the job API's `loras`
/// field merges them per job (two workers, different LoRAs at once: each job gets the image
/// diffusers made with its own LoRAs), bad values are 400s naming `loras`.
final class LoRARouteTests: XCTestCase {
    static let reference = TestServers.fixtures.appendingPathComponent("lora/reference")

    /// The fixture request of tools/make_lora_fixtures.py with `loras` (JSON), as a job.
    private func job(_ client: TestClient, loras: String) async throws -> String {
        let body = #"{"prompt": "a photograph of an astronaut riding a horse", "negative_prompt": "blurry", "sampler": "ddim", "steps": 4, "#
            + #""guidance": 7.5, "seed": 7, "width": 32, "height": 32, "loras": \#(loras)}"#
        let reply = try await client.post("/api/jobs", body)
        XCTAssertEqual(reply.status, 202, reply.text)
        return try XCTUnwrap(reply.object()["id"] as? String)
    }

    private func result(_ client: TestClient, _ id: String) async throws -> (image: PNGImage, infotext: String) {
        var state: [String: Any] = [:]
        try await eventually("job \(id) ends", timeout: 120) {
            state = try await client.get("/api/jobs/\(id)").object()
            return ["succeeded", "failed", "cancelled"].contains(state["status"] as? String ?? "")
        }
        XCTAssertEqual(state["status"] as? String, "succeeded", "\(state)")
        let image = try XCTUnwrap(((state["result"] as? [String: Any])?["images"] as? [[String: Any]])?.first)
        return (try TestImages.decode(try XCTUnwrap(image["image"] as? String)), image["infotext"] as? String ?? "")
    }

    private func maxDifference(_ a: PNGImage, _ b: PNGImage) throws -> Int {
        let x = try a.converted(toChannels: 3), y = try b.converted(toChannels: 3)
        guard (x.width, x.height) == (y.width, y.height) else { return 255 }
        return zip(x.pixels, y.pixels).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
    }

    /// A1111's `<lora:NAME:MULTIPLIER>` prompt tags on `/sdapi/v1/txt2img` load NAME from the
    /// server's LoRA folder for that request: diffusers' image with the same LoRAs; the infotext
    /// keeps the prompt as written; a tag naming no file is a 400 naming `prompt`.
    func testPromptTagsOnTxt2ImgLoadTheirLoRAs() async throws {
        let client = try await TestServers.client(.loras)
        let prompt = "a photograph of an astronaut riding a horse <lora:kohya:0.7> <lora:peft:1.3>"
        let reply = try await client.post("/sdapi/v1/txt2img", object: [
            "prompt": prompt, "negative_prompt": "blurry", "sampler_name": "DDIM", "steps": 4, "cfg_scale": 7.5, "seed": 7,
            "width": 32, "height": 32,
        ])
        XCTAssertEqual(reply.status, 200, reply.text)
        let image = try TestImages.decode(try XCTUnwrap((try reply.object()["images"] as? [String])?.first, reply.text))
        let reference = try PNGImage(contentsOf: Self.reference.appendingPathComponent("kohya_peft.png"))
        let difference = try maxDifference(image, reference)
        print("[lora server] txt2img prompt tags <lora:kohya:0.7> <lora:peft:1.3>: max channel difference \(difference)/255")
        XCTAssertLessThanOrEqual(difference, 1)
        let info = try XCTUnwrap(try reply.object()["info"] as? String)
        XCTAssertTrue(info.contains(prompt + "\\nNegative prompt") || info.contains(prompt + "\nNegative prompt"), info)
        XCTAssertFalse(info.contains("<lora:kohya:0.7> <lora:peft:1.3> <lora:"), "tags recorded twice: \(info)")
        for tag in ["<lora:nothing:1>", "<lora:kohya:strong>"] {
            let bad = try await client.post("/sdapi/v1/txt2img", object: ["prompt": "a horse \(tag)", "steps": 1, "width": 32, "height": 32])
            XCTAssertEqual(bad.status, 400, bad.text)
            XCTAssertTrue(bad.text.contains("prompt") && bad.text.contains(tag), bad.text)
        }
    }

    func testListsTheLoRAFolder() async throws {
        let client = try await TestServers.client(.loras)
        let list = try await client.get("/sdapi/v1/loras").array() as? [[String: Any]] ?? []
        let kohya = try XCTUnwrap(list.first { $0["name"] as? String == "kohya" })
        XCTAssertTrue((kohya["path"] as? String ?? "").hasSuffix("lora/kohya.safetensors"))
        XCTAssertEqual((kohya["metadata"] as? [String: Any])?["ss_network_dim"] as? String, "4")
        XCTAssertEqual(kohya["alias"] as? String, "kohya")
        let refresh = try await client.post("/sdapi/v1/refresh-loras", "{}")
        XCTAssertEqual(refresh.status, 200, refresh.text)
        let standard = try await TestServers.client()
        let empty = try await standard.get("/sdapi/v1/loras").array()
        XCTAssertEqual(empty.count, 0)
    }

    func testJobsWithDifferentLoRAsAtOnceEachGetTheirOwnImage() async throws {
        let client = try await TestServers.client(.loras)
        let cases: [(loras: String, reference: String)] = [
            (#"["kohya:0.8"]"#, "kohya"), (#"[{"name": "peft"}]"#, "peft"), ("[]", "base"),
            (#"["kohya:0.7", {"name": "peft", "weight": 1.3}]"#, "kohya_peft"), (#"["lokr"]"#, "lokr"), (#"["kohya:0.8"]"#, "kohya"),
        ]
        var ids: [String] = []
        for c in cases { ids.append(try await job(client, loras: c.loras)) }
        for (c, id) in zip(cases, ids) {
            let (image, infotext) = try await result(client, id)
            let diff = try maxDifference(image, try PNGImage(contentsOf: Self.reference.appendingPathComponent(c.reference + ".png")))
            print("[lora server] \(c.loras): max channel difference \(diff)/255 from \(c.reference).png")
            XCTAssertLessThanOrEqual(diff, 1, "\(c.loras)")
            if c.reference == "kohya" { XCTAssertTrue(infotext.hasPrefix("a photograph of an astronaut riding a horse <lora:kohya:0.8>"), infotext) }
        }
    }

    func testBadLoRAsAre400sNamingTheField() async throws {
        let client = try await TestServers.client(.loras)
        let body = #"{"prompt": "x", "steps": 2, "width": 32, "height": 32, "loras": "#
        for (loras, expected) in [(#"["nothing-here"]"#, "no LoRA named"), (#"["kohya:lots"]"#, "lots"),
                                  (#"["../sd/sd1/unet/x"]"#, "is not a file name"), ("5", "must be an array"),
                                  (#"[{"weight": 1}]"#, "has no name"), (#"[{"name": "kohya", "weight": "x"}]"#, "loras[0].weight must be a number"),
                                  (#"["kohya.weights"]"#, "does not fit this model")] {
            let reply = try await client.post("/api/jobs", body + loras + "}")
            XCTAssertEqual(reply.status, 400, "\(loras): \(reply.text)")
            XCTAssertTrue(reply.text.contains(expected) && reply.text.contains(#""loras""#), "\(loras): \(reply.text)")
        }
        let standard = try await TestServers.client()
        let reply = try await standard.post("/api/jobs", body + #"["kohya"]}"#)
        XCTAssertEqual(reply.status, 400)
        XCTAssertTrue(reply.text.contains("without --lora-dir"), reply.text)
    }
}
