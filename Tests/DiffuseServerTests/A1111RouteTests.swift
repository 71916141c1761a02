import DiffuseFormats
import DiffusePipelines
import XCTest

/// AUTOMATIC1111's `sdapi` routes and their errors.
final class A1111RouteTests: XCTestCase {
    private func info(_ reply: HTTPReply) throws -> [String: Any] {
        let text = try XCTUnwrap(try reply.object()["info"] as? String)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func testTxt2ImgMatchesThePipelineAndReportsSeeds() async throws {
        let client = try await TestServers.client()
        let reply = try await client.post("/sdapi/v1/txt2img", #"""
        {"prompt": "a cat", "negative_prompt": "blurry", "seed": 1234, "sampler_name": "Euler a", "steps": 3,
         "cfg_scale": 6.5, "width": 48, "height": 32, "batch_size": 2, "n_iter": 1, "styles": [], "override_settings": {}}
        """#)
        XCTAssertEqual(reply.status, 200, reply.text)
        let body = try reply.object()
        let images = try XCTUnwrap(body["images"] as? [String])
        XCTAssertEqual(images.count, 2)
        let info = try info(reply)
        XCTAssertEqual(info["seed"] as? Int, 1234)
        XCTAssertEqual(info["all_seeds"] as? [Int], [1234, 1235])
        XCTAssertEqual(info["sampler_name"] as? String, "Euler a")
        XCTAssertEqual(info["width"] as? Int, 48)
        XCTAssertEqual((info["infotexts"] as? [String])?.count, 2)
        let parameters = try XCTUnwrap(body["parameters"] as? [String: Any])
        XCTAssertEqual(parameters["prompt"] as? String, "a cat")
        XCTAssertEqual(parameters["seed"] as? Int, 1234)
        XCTAssertEqual(parameters["steps"] as? Int, 3)

        // Image i is the pipeline's image for seed + i, alone, and carries that seed's infotext.
        let model = try await TestServers.shared.loadModel()
        for (i, text) in images.enumerated() {
            let served = try TestImages.decode(text)
            var request = GenerationRequest(prompt: "a cat")
            request.negativePrompt = "blurry"
            request.sampler = "euler_a"
            request.steps = 3
            request.guidance = 6.5
            request.seed = UInt64(1234 + i)
            request.width = 48
            request.height = 32
            let expected = try model.generate(request)[0]
            XCTAssertEqual(served.pixels, expected.pixels, "image \(i)")
            let infotext = try XCTUnwrap(served.textValue(forKeyword: "parameters"))
            XCTAssertEqual(Infotext.parse(infotext)?.seed, 1234 + i)
            XCTAssertEqual(Infotext.parse(infotext)?.negativePrompt, "blurry")
            XCTAssertEqual(Infotext.parse(infotext)?.sampler, "Euler a")
            XCTAssertEqual(Infotext.parse(infotext)?.cfgScale, 6.5)
        }
    }

    /// `eta` reaches the TCD sampler (the pipeline's image for that η; the default is 0.3) on the
    /// A1111 and job APIs; outside 0…1 it is a 400 naming `eta`.
    func testEtaReachesTheTCDSampler() async throws {
        let client = try await TestServers.client()
        let model = try await TestServers.shared.loadModel()
        func expected(eta: Float?) throws -> [UInt8] {
            var request = GenerationRequest(prompt: "a cat")
            (request.sampler, request.steps, request.guidance, request.seed, request.width, request.height) = ("tcd", 4, 1, 21, 32, 32)
            request.eta = eta
            return try model.generate(request)[0].pixels
        }
        let body = #""prompt": "a cat", "sampler_name": "TCD", "steps": 4, "cfg_scale": 1, "seed": 21, "width": 32, "height": 32"#
        var served: [String: [UInt8]] = [:]
        for eta in ["", #", "eta": 0"#, #", "eta": 0.9"#] {
            let reply = try await client.post("/sdapi/v1/txt2img", "{\(body)\(eta)}")
            XCTAssertEqual(reply.status, 200, reply.text)
            served[eta] = try TestImages.decode(try XCTUnwrap((try reply.object()["images"] as? [String])?.first, reply.text)).pixels
        }
        XCTAssertEqual(served[""], try expected(eta: nil))
        XCTAssertEqual(served[#", "eta": 0"#], try expected(eta: 0))
        XCTAssertEqual(served[#", "eta": 0.9"#], try expected(eta: 0.9))
        XCTAssertNotEqual(served[#", "eta": 0"#], served[#", "eta": 0.9"#], "η changes TCD's image")
        for (path, request) in [("/sdapi/v1/txt2img", "{\(body), \"eta\": 1.5}"),
                                ("/api/jobs", #"{"prompt": "a cat", "sampler": "tcd", "steps": 4, "eta": -0.1, "width": 32, "height": 32}"#)] {
            let reply = try await client.post(path, request)
            XCTAssertEqual(reply.status, 400, reply.text)
            XCTAssertTrue(reply.text.contains("eta must be in 0…1"), reply.text)
        }
    }

    func testRandomSeedIsReportedAndReproducible() async throws {
        let client = try await TestServers.client()
        let first = try await client.post("/sdapi/v1/txt2img", #"{"prompt": "x", "seed": -1, "steps": 2, "width": 32, "height": 32}"#)
        XCTAssertEqual(first.status, 200, first.text)
        let seed = try XCTUnwrap(try info(first)["seed"] as? Int)
        XCTAssertGreaterThanOrEqual(seed, 0)
        XCTAssertEqual((try first.object()["parameters"] as? [String: Any])?["seed"] as? Int, -1, "parameters echo the request")
        let again = try await client.post("/sdapi/v1/txt2img", #"{"prompt": "x", "seed": \#(seed), "steps": 2, "width": 32, "height": 32}"#)
        XCTAssertEqual(try again.object()["images"] as? [String], try first.object()["images"] as? [String])
    }

    func testSamplerNamesA1111AndDiffuse() async throws {
        let client = try await TestServers.client()
        let cases: [(String, String, String)] = [
            ("\"sampler_name\": \"Euler a\"", "Euler a", "euler_a"),
            ("\"sampler_name\": \"DPM++ 2M Karras\"", "DPM++ 2M Karras", "dpmpp_2m_karras"),
            ("\"sampler_name\": \"DDIM\"", "DDIM", "ddim"),
            ("\"sampler_name\": \"euler_a\"", "Euler a", "euler_a"),
            ("\"sampler_name\": \"k_lms\"", "LMS", "lms"),
            ("\"sampler_name\": \"DPM++ 2M\", \"scheduler\": \"Karras\"", "DPM++ 2M Karras", "dpmpp_2m_karras"),
            ("\"sampler_index\": \"Heun\"", "Heun", "heun"),
            ("\"sampler_name\": \"\"", "PNDM", "pndm"),  // the model's own scheduler
        ]
        for (field, display, _) in cases {
            let reply = try await client.post("/sdapi/v1/txt2img", #"{"prompt": "x", \#(field), "steps": 2, "width": 32, "height": 32, "seed": 1}"#)
            XCTAssertEqual(reply.status, 200, "\(field) → \(reply.text)")
            XCTAssertEqual(try info(reply)["sampler_name"] as? String, display, field)
        }
        let samplers = try await client.get("/sdapi/v1/samplers").array()
        let names = samplers.compactMap { ($0 as? [String: Any])?["name"] as? String }
        XCTAssertEqual(names, ["PNDM", "DDIM", "DDPM", "Euler", "Euler a", "Heun", "LMS", "DPM++ 2M", "DPM++ 2M Karras", "UniPC", "LCM", "TCD"])
        let euler = try XCTUnwrap(samplers.first { ($0 as? [String: Any])?["name"] as? String == "Euler a" } as? [String: Any])
        XCTAssertEqual(euler["aliases"] as? [String], ["euler_a", "k_euler_a", "k_euler_ancestral"])
    }

    func testImg2ImgWithAndWithoutDataURLAndWithMask() async throws {
        let client = try await TestServers.client()
        let initImage = try TestImages.base64(try TestImages.gradient(width: 48, height: 32))
        for prefix in ["", "data:image/png;base64,"] {
            let reply = try await client.post("/sdapi/v1/img2img", object: [
                "prompt": "a painting", "init_images": [prefix + initImage], "denoising_strength": 0.5,
                "steps": 4, "seed": 3, "sampler_name": "DDIM",
            ])
            XCTAssertEqual(reply.status, 200, reply.text)
            let image = try TestImages.decode(try XCTUnwrap((try reply.object()["images"] as? [String])?.first))
            XCTAssertEqual([image.width, image.height], [48, 32], "size defaults to the init image's")
            XCTAssertEqual(try info(reply)["denoising_strength"] as? Double, 0.5)
            let parameters = try XCTUnwrap(try reply.object()["parameters"] as? [String: Any])
            XCTAssertTrue(parameters["init_images"] is NSNull, "init images are not echoed")
        }
        // A different output size resizes the init image; a mask inpaints.
        let mask = try TestImages.base64(try TestImages.leftHalfMask(width: 48, height: 32))
        let inpaint = try await client.post("/sdapi/v1/img2img", object: [
            "prompt": "a painting", "init_images": [initImage], "mask": mask, "denoising_strength": 0.75,
            "steps": 4, "seed": 3, "width": 32, "height": 32,
        ])
        XCTAssertEqual(inpaint.status, 200, inpaint.text)
        let image = try TestImages.decode(try XCTUnwrap((try inpaint.object()["images"] as? [String])?.first))
        XCTAssertEqual([image.width, image.height], [32, 32])
    }

    func testImg2ImgRejectsBadImages() async throws {
        let client = try await TestServers.client()
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0x4A, 0x46, 0x49, 0x46, 0, 1]).base64EncodedString()
        let text = Data("just some text, not an image".utf8).base64EncodedString()
        let huge = try TestImages.base64(try TestImages.gradient(width: 1032, height: 8))
        let cases: [([String: Any], String)] = [
            (["init_images": ["%%%% not base64 %%%%"]], "init_images[0] is not valid base64"),
            (["init_images": [jpeg]], "init_images[0] is a JPEG image; Diffuse reads PNG only"),
            (["init_images": [text]], "init_images[0] is not a usable PNG image"),
            (["init_images": [huge]], "init_images[0] is 1032x8; the limit is 1024"),
            (["init_images": []], "init_images must hold at least one base64 image"),
            (["init_images": "abc"], "init_images must be an array of strings, not a string"),
            (["init_images": [42]], "init_images[0] must be a string, not a number"),
            ([:], "init_images must hold at least one base64 image"),
            (["init_images": [try TestImages.base64(try TestImages.gradient(width: 16, height: 16))], "mask": "data:image/png;base64,AAAA"],
             "mask is not a usable PNG image"),
            (["init_images": [try TestImages.base64(try TestImages.gradient(width: 16, height: 16))], "denoising_strength": 1.5],
             "denoising_strength must be between 0 and 1"),
        ]
        for (object, message) in cases {
            var body = object
            body["prompt"] = "x"
            let reply = try await client.post("/sdapi/v1/img2img", object: body)
            XCTAssertEqual(reply.status, 400, "\(message) → \(reply.text)")
            let detail = try XCTUnwrap(try reply.object()["detail"] as? String, reply.text)
            XCTAssertTrue(detail.contains(message), "expected \(message), got \(detail)")
        }
    }

    func testBadInputIsA400WithDetail() async throws {
        let client = try await TestServers.client()
        let cases: [(String, String)] = [
            (#"{"prompt": "#, "malformed JSON body"),
            (#""just a string""#, "request body must be a JSON object, not a string"),
            (#"{"steps": "20"}"#, "steps must be a whole number, not a string"),
            (#"{"steps": 0}"#, "steps must be at least 1, not 0"),
            (#"{"steps": 5001}"#, "steps 5001 is over this server's limit of 5000"),
            (#"{"width": 100, "height": 64}"#, "width must be a positive multiple of 8, not 100"),
            (#"{"width": 64, "height": 0}"#, "height must be a positive multiple of 8, not 0"),
            (#"{"width": 4096, "height": 64}"#, "width 4096 is over this server's limit of 1024"),
            (#"{"batch_size": 0}"#, "batch_size must be at least 1, not 0"),
            (#"{"n_iter": -1}"#, "n_iter must be at least 1, not -1"),
            (#"{"batch_size": 3, "n_iter": 3}"#, "batch_size × n_iter = 3 × 3 is over this server's limit of 8 images"),
            (#"{"sampler_name": "Euler x"}"#, "unknown sampler \"Euler x\"; valid samplers: PNDM (pndm)"),
            (#"{"sampler_name": "Euler a", "scheduler": "Exponential"}"#, "scheduler \"Exponential\" is not supported"),
            (#"{"sampler_name": "DDIM", "scheduler": "Karras"}"#, "sampler \"DDIM\" has no Karras variant"),
            (#"{"cfg_scale": "high"}"#, "cfg_scale must be a number, not a string"),
            (#"{"cfg_scale": -1}"#, "cfg_scale must be between 0 and 100"),
            (#"{"seed": -2}"#, "seed must be between -1 and"),
            (#"{"seed": 1.5}"#, "seed must be a whole number, not 1.5"),
            (#"{"prompt": ["a", "b"]}"#, "prompt must be a string, not an array"),
            // Schedules near the 1000 training timesteps would crash the samplers (PNDM, DDIM, DPM++ 2M at 1000).
            (#"{"steps": 1000}"#, "steps 1000 is more than half of this model's 1000 training timesteps"),
            (#"{"steps": 501, "sampler_name": "DPM++ 2M"}"#, "steps 501 is more than half of this model's 1000 training timesteps"),
        ]
        for (body, message) in cases {
            let reply = try await client.post("/sdapi/v1/txt2img", body)
            XCTAssertEqual(reply.status, 400, "\(body) → \(reply.text)")
            let detail = try XCTUnwrap(try reply.object()["detail"] as? String, reply.text)
            XCTAssertTrue(detail.contains(message), "\(body): expected \(message), got \(detail)")
        }
    }

    func testModelsAndOptions() async throws {
        let client = try await TestServers.client()
        let models = try await client.get("/sdapi/v1/sd-models").array()
        XCTAssertEqual(models.count, 1)
        XCTAssertEqual((models[0] as? [String: Any])?["model_name"] as? String, "sd1")
        XCTAssertEqual((models[0] as? [String: Any])?["title"] as? String, "sd1")
        let checkpoint = try await client.get("/sdapi/v1/options").object()["sd_model_checkpoint"] as? String
        XCTAssertEqual(checkpoint, "sd1")
    }

    func testProgressAndInterrupt() async throws {
        let (server, port) = try await TestServers.shared.server(.standard)
        let client = TestClient(port: port)
        try await eventually("the queue is idle") { server.queue.runningJobs.isEmpty && server.queue.pendingCount == 0 }
        let idle = try await client.get("/sdapi/v1/progress").object()
        XCTAssertEqual(idle["progress"] as? Double, 0)
        XCTAssertTrue(idle["current_image"] is NSNull)
        XCTAssertEqual((idle["state"] as? [String: Any])?["job_count"] as? Int, 0)

        // A long job: 3 images of 500 steps would take minutes.
        async let long = client.post("/sdapi/v1/txt2img",
                                     #"{"prompt": "x", "steps": 500, "sampler_name": "Euler", "width": 32, "height": 32, "batch_size": 3, "seed": 9}"#)
        var busy: [String: Any] = [:]
        try await eventually("progress reports steps") {
            busy = try await client.get("/sdapi/v1/progress").object()
            return ((busy["state"] as? [String: Any])?["sampling_step"] as? Int ?? 0) >= 2
        }
        let state = try XCTUnwrap(busy["state"] as? [String: Any])
        XCTAssertEqual(state["sampling_steps"] as? Int, 500)
        XCTAssertGreaterThan(busy["progress"] as? Double ?? 0, 0)
        XCTAssertLessThan(busy["progress"] as? Double ?? 1, 0.5)
        XCTAssertGreaterThan(busy["eta_relative"] as? Double ?? 0, 0)
        let preview = try TestImages.decode(try XCTUnwrap(busy["current_image"] as? String, "a live preview"))
        XCTAssertEqual([preview.width, preview.height], [16, 16], "one pixel per latent (this VAE halves the size)")
        let skipped = try await client.get("/sdapi/v1/progress?skip_current_image=true").object()
        XCTAssertTrue(skipped["current_image"] is NSNull)

        let started = Date()
        let interruptStatus = try await client.post("/sdapi/v1/interrupt", "").status
        XCTAssertEqual(interruptStatus, 200)
        let reply = try await long
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "interrupt stops the job promptly")
        XCTAssertEqual(reply.status, 200, reply.text)
        let images = try XCTUnwrap(try reply.object()["images"] as? [String])
        XCTAssertEqual(images.count, 1, "the interrupted image, decoded as far as it got; later ones are skipped")
        let info = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(try reply.object()["info"] as? String).utf8)) as? [String: Any])
        XCTAssertEqual(info["interrupted"] as? Bool, true)
        XCTAssertEqual(info["all_seeds"] as? [Int], [9])
    }
}
