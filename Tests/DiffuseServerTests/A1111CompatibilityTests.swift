import DiffuseFormats
import Foundation
import XCTest

/// The AUTOMATIC1111 routes clients such as webuiapi call besides txt2img / img2img.
final class A1111CompatibilityTests: XCTestCase {
    func testOptionsReadAndWrite() async throws {
        let client = try await TestServers.client()
        let options = try await client.get("/sdapi/v1/options").object()
        XCTAssertEqual(options["sd_model_checkpoint"] as? String, "sd1")
        XCTAssertEqual(options["samples_format"] as? String, "png")
        XCTAssertEqual(options["CLIP_stop_at_last_layers"] as? Int, 1)

        // Setting what is already so (webuiapi's util_set_model) is accepted.
        let same = try await client.post("/sdapi/v1/options", #"{"sd_model_checkpoint": "sd1", "samples_format": "png"}"#)
        XCTAssertEqual(same.status, 200, same.text)
        let otherModel = try await client.post("/sdapi/v1/options", #"{"sd_model_checkpoint": "sd_xl_base_1.0"}"#)
        XCTAssertEqual(otherModel.status, 400, otherModel.text)
        XCTAssertTrue((try otherModel.object()["detail"] as? String ?? "").contains("sd_xl_base_1.0"), otherModel.text)
        let unsupported = try await client.post("/sdapi/v1/options", #"{"CLIP_stop_at_last_layers": 2, "eta_noise_seed_delta": 31337}"#)
        XCTAssertEqual(unsupported.status, 501, unsupported.text)
        let detail = try unsupported.object()["detail"] as? String ?? ""
        XCTAssertTrue(detail.contains("CLIP_stop_at_last_layers") && detail.contains("eta_noise_seed_delta"), detail)
        let bad = try await client.post("/sdapi/v1/options", "[1]")
        XCTAssertEqual(bad.status, 400)
    }

    func testListsOfWhatThisServerHas() async throws {
        let client = try await TestServers.client()
        let schedulers = try await client.get("/sdapi/v1/schedulers").array().compactMap { $0 as? [String: Any] }
        XCTAssertEqual(schedulers.compactMap { $0["label"] as? String }, ["Automatic", "Karras"])
        XCTAssertEqual(schedulers.compactMap { $0["name"] as? String }, ["automatic", "karras"])
        let loras = try await client.get("/sdapi/v1/loras").array()
        XCTAssertTrue(loras.isEmpty, "LoRA loading is not implemented")
        let embeddings = try await client.get("/sdapi/v1/embeddings").object()
        XCTAssertEqual((embeddings["loaded"] as? [String: Any])?.count, 0)
        XCTAssertEqual((embeddings["skipped"] as? [String: Any])?.count, 0)
        let upscalers = try await client.get("/sdapi/v1/upscalers").array().compactMap { $0 as? [String: Any] }
        XCTAssertEqual(upscalers.compactMap { $0["name"] as? String }, ["None"])
        let vaes = try await client.get("/sdapi/v1/sd-vae").array()
        XCTAssertTrue(vaes.isEmpty)
        let flags = try await client.get("/sdapi/v1/cmd-flags").object()
        XCTAssertEqual(flags["api"] as? Bool, true)
        XCTAssertEqual(flags["max_size"] as? Int, 1024)
        XCTAssertEqual(flags["api_key"] as? Bool, false, "says whether a key is set, never the key")
        let refresh = try await client.post("/sdapi/v1/refresh-checkpoints", "")
        XCTAssertEqual(refresh.status, 200, refresh.text)
    }

    func testMemoryReportsThisProcess() async throws {
        let memory = try await TestServers.client().get("/sdapi/v1/memory").object()
        let ram = try XCTUnwrap(memory["ram"] as? [String: Any])
        let total = try XCTUnwrap(ram["total"] as? NSNumber).doubleValue
        let used = try XCTUnwrap(ram["used"] as? NSNumber).doubleValue
        let free = try XCTUnwrap(ram["free"] as? NSNumber).doubleValue
        XCTAssertGreaterThan(total, 100e6)
        XCTAssertGreaterThan(used, 1e6, "this process's resident memory")
        XCTAssertLessThan(used, total)
        XCTAssertGreaterThan(free, 0)
        XCTAssertNotNil((memory["cuda"] as? [String: Any])?["error"] as? String, "no CUDA: said so")
    }

    func testPNGInfoParsesTheInfotext() async throws {
        let client = try await TestServers.client()
        let generated = try await client.post("/sdapi/v1/txt2img", #"""
        {"prompt": "a cat, sitting", "negative_prompt": "blurry", "seed": 77, "steps": 2, "cfg_scale": 6.5, "width": 24, "height": 16, "sampler_name": "Euler a"}
        """#)
        let image = try XCTUnwrap((try generated.object()["images"] as? [String])?.first, generated.text)
        for prefix in ["", "data:image/png;base64,"] {
            let reply = try await client.post("/sdapi/v1/png-info", object: ["image": prefix + image])
            XCTAssertEqual(reply.status, 200, reply.text)
            let body = try reply.object()
            let info = try XCTUnwrap(body["info"] as? String)
            XCTAssertTrue(info.hasPrefix("a cat, sitting\nNegative prompt: blurry\nSteps: 2, Sampler: Euler a, CFG scale: 6.5, Seed: 77, Size: 24x16"), info)
            let parameters = try XCTUnwrap(body["parameters"] as? [String: Any])
            XCTAssertEqual(parameters["Prompt"] as? String, "a cat, sitting")
            XCTAssertEqual(parameters["Negative prompt"] as? String, "blurry")
            // As A1111's parse_generation_parameters gives them: values as text.
            XCTAssertEqual(parameters["Steps"] as? String, "2")
            XCTAssertEqual(parameters["Seed"] as? String, "77")
            XCTAssertEqual(parameters["CFG scale"] as? String, "6.5")
            XCTAssertEqual(parameters["Sampler"] as? String, "Euler a")
            XCTAssertEqual(parameters["Size-1"] as? String, "24")
            XCTAssertEqual(parameters["Size-2"] as? String, "16")
            XCTAssertEqual(parameters["Model"] as? String, "sd1")
            XCTAssertEqual((body["items"] as? [String: Any])?.count, 0, "no other text chunks")
        }
        // A PNG without infotext: empty answers; other text chunks are listed as items.
        var plain = try TestImages.gradient(width: 8, height: 8)
        plain.text = [PNGTextEntry(keyword: "Software", text: "a painter")]
        let none = try await client.post("/sdapi/v1/png-info", object: ["image": try TestImages.base64(plain)])
        XCTAssertEqual(none.status, 200, none.text)
        XCTAssertEqual(try none.object()["info"] as? String, "")
        XCTAssertEqual((try none.object()["items"] as? [String: Any])?["Software"] as? String, "a painter")
        // Bad input is a 400 naming the field.
        for (object, message) in [([:], "image is required"), (["image": "%%%"], "image is not valid base64")] as [([String: Any], String)] {
            let reply = try await client.post("/sdapi/v1/png-info", object: object)
            XCTAssertEqual(reply.status, 400, reply.text)
            XCTAssertTrue((try reply.object()["detail"] as? String ?? "").contains(message), reply.text)
        }
    }

    /// Features Diffuse does not have are refused by name, never silently ignored.
    func testUnsupportedFeaturesAre501() async throws {
        let client = try await TestServers.client()
        let cases: [(String, String, String)] = [
            ("/sdapi/v1/txt2img", #"{"prompt": "x", "enable_hr": true, "hr_scale": 2}"#, "enable_hr"),
            ("/sdapi/v1/txt2img", #"{"prompt": "x", "restore_faces": true}"#, "restore_faces"),
            ("/sdapi/v1/txt2img", #"{"prompt": "x", "tiling": true}"#, "tiling"),
        ]
        for (path, body, field) in cases {
            let started = Date()
            let reply = try await client.post(path, body)
            XCTAssertEqual(reply.status, 501, "\(body) → \(reply.text)")
            XCTAssertTrue((try reply.object()["detail"] as? String ?? "").hasPrefix(field), reply.text)
            XCTAssertLessThan(Date().timeIntervalSince(started), 5, "refused before generating")
        }
        // false (webuiapi sends every flag) is fine.
        let plain = try await client.post("/sdapi/v1/txt2img",
                                          #"{"prompt": "x", "enable_hr": false, "restore_faces": false, "tiling": false, "steps": 1, "width": 16, "height": 16}"#)
        XCTAssertEqual(plain.status, 200, plain.text)
    }
}
