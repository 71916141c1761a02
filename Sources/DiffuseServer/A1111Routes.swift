import DiffuseFormats
import DiffusePipelines
import Foundation
import Hummingbird

/// AUTOMATIC1111-compatible `sdapi` routes:
/// - `POST /sdapi/v1/txt2img`, `POST /sdapi/v1/img2img`: `prompt`, `negative_prompt`, `seed`
///   (−1 = random), `sampler_name` (A1111 display names, aliases or Diffuse names), `scheduler`
///   (`Automatic` or `Karras`), `steps`, `cfg_scale`, `width`, `height`, `batch_size`, `n_iter`,
///   `denoising_strength`, `init_images`, `mask`, `inpainting_mask_invert`, `eta` (TCD's gamma),
///   `send_images`, and Diffuse's `prompt_syntax` (`a1111`, the default here: A1111's emphasis,
///   `BREAK`, long prompts, `<lora:NAME:W>` tags loaded from the LoRA folder; or `plain`); reply
///   `{images, parameters, info}` with `info` a JSON string (`seed`, `all_seeds`, `infotexts`, …).
///   Image `i` uses seed `seed + i`, as in A1111. `enable_hr`, `restore_faces` and `tiling` set
///   to true are refused with 501 (Diffuse has no hires fix, face restoration or tiling).
/// - `GET /sdapi/v1/progress`, `POST /sdapi/v1/interrupt`, `GET /sdapi/v1/samplers`,
///   `GET /sdapi/v1/sd-models`; the other informational routes are `A1111InfoRoutes`.
struct A1111Routes {
    let server: DiffuseServer

    func register(on router: Router<DiffuseRequestContext>) {
        router.post("/sdapi/v1/txt2img") { request, context -> Response in
            try await generate(request, context: context, imageToImage: false)
        }
        router.post("/sdapi/v1/img2img") { request, context -> Response in
            try await generate(request, context: context, imageToImage: true)
        }
        router.get("/sdapi/v1/progress") { request, _ -> Response in
            let skipImage = request.uri.queryParameters.get("skip_current_image").map { $0 == "true" || $0 == "1" } ?? false
            return HTTPSupport.json(progress(includeImage: !skipImage))
        }
        router.post("/sdapi/v1/interrupt") { _, _ -> Response in
            server.queue.interruptRunning()
            return HTTPSupport.json([:])
        }
        router.post("/sdapi/v1/skip") { _, _ -> Response in
            server.queue.interruptRunning()
            return HTTPSupport.json([:])
        }
        router.get("/sdapi/v1/samplers") { _, _ -> Response in
            HTTPSupport.json(.array(server.samplers.entries.map { entry in
                ["name": .string(entry.displayName), "aliases": .array(entry.aliases.map(JSONValue.string)), "options": [:]]
            }))
        }
        router.get("/sdapi/v1/sd-models") { _, _ -> Response in
            let name = server.model.name
            return HTTPSupport.json([[
                "title": .string(name), "model_name": .string(name), "hash": nil, "sha256": nil,
                "filename": .string(name), "config": nil,
            ]])
        }
    }

    // MARK: txt2img / img2img

    private func generate(_ request: Request, context: DiffuseRequestContext, imageToImage: Bool) async throws -> Response {
        let fields = try await HTTPSupport.readFields(request, limit: server.configuration.effectiveMaxBodyBytes)
        let parsed = try parse(fields, imageToImage: imageToImage)
        let (job, result) = try await server.generate(parsed.parameters, context: context)
        let sendImages = try fields.bool("send_images") ?? true
        let images: [JSONValue] = sendImages ? result.images.map { .string(ImageCoding.base64PNG($0.png)) } : []
        return HTTPSupport.json([
            "images": .array(images),
            "parameters": parsed.echo,
            "info": .string(info(job: job, result: result, batchSize: parsed.batchSize).serialized),
        ])
    }

    /// A1111 features Diffuse does not have, by the boolean field that turns each on.
    static let unsupportedFeatures: [(field: String, feature: String)] = [
        ("enable_hr", "hires fix (a second, upscaled pass)"),
        ("restore_faces", "face restoration"),
        ("tiling", "tileable images"),
    ]

    /// A parsed txt2img / img2img request: the job, the request echoed back with defaults filled
    /// (A1111's `parameters`), and the batch size for `info`.
    struct Parsed {
        var parameters: GenerationParameters
        var echo: JSONValue
        var batchSize: Int
    }

    func parse(_ fields: RequestFields, imageToImage: Bool) throws -> Parsed {
        let config = server.configuration
        for (field, feature) in A1111Routes.unsupportedFeatures {
            if try fields.bool(field) == true {
                throw APIError.notSupported(field, "\(field) is not supported: Diffuse has no \(feature); send \(field): false or leave it out")
            }
        }
        let prompt = try fields.string("prompt") ?? ""
        let negative = try fields.string("negative_prompt") ?? ""
        let requestedSeed = try fields.int("seed", in: -1 ... Int64.max) ?? -1
        let samplerText = try fields.string("sampler_name") ?? fields.string("sampler_index")
        let schedulerText = try fields.string("scheduler")
        let sampler = try server.samplers.resolve(samplerText, scheduler: schedulerText, field: "sampler_name")
        let steps = Int(try fields.int("steps") ?? 20)
        let cfg = try fields.double("cfg_scale") ?? server.model.defaultGuidance.map(Double.init) ?? 7.0
        let batchSize = Int(try fields.int("batch_size") ?? 1)
        let iterations = Int(try fields.int("n_iter") ?? 1)
        guard batchSize >= 1 else { throw APIError.invalid("batch_size", "batch_size must be at least 1, not \(batchSize)") }
        guard iterations >= 1 else { throw APIError.invalid("n_iter", "n_iter must be at least 1, not \(iterations)") }
        guard batchSize <= config.maxImages, iterations <= config.maxImages, batchSize * iterations <= config.maxImages else {
            throw APIError.invalid("batch_size", "batch_size × n_iter = \(batchSize) × \(iterations) is over this server's limit of \(config.maxImages) images")
        }
        var width = try fields.int("width").map(Int.init)
        var height = try fields.int("height").map(Int.init)

        var initImage: PNGImage?, mask: PNGImage?, strength: Double?
        if imageToImage {
            guard let sources = try fields.strings("init_images"), let first = sources.first else {
                throw APIError.invalid("init_images", "init_images must hold at least one base64 image")
            }
            let image = try ImageCoding.decode(first, field: "init_images[0]", maxSize: config.maxSize)
            // Without a size, the init image's own (rounded down to a multiple of 8).
            width = width ?? max(8, image.width / 8 * 8)
            height = height ?? max(8, image.height / 8 * 8)
            if let maskText = try fields.string("mask") {
                var decoded = try ImageCoding.decode(maskText, field: "mask", maxSize: config.maxSize)
                if try fields.int("inpainting_mask_invert", in: 0 ... 1) == 1 { decoded = try ImageResize.inverted(decoded) }
                mask = decoded
            }
            strength = try fields.double("denoising_strength") ?? 0.75
            initImage = image
        }
        let native = server.model.defaultImageSize
        var parameters = GenerationParameters(prompt: prompt, width: width ?? native, height: height ?? native)
        parameters.negativePrompt = negative
        parameters.promptSyntax = try GenerationParameters.promptSyntax(fields, default: .a1111)
        if parameters.promptSyntax == .a1111 {
            parameters.promptLoRAs = try ServerLoRAs.resolve(promptTags: PromptAdapterTag.extract(from: prompt).tags, server: server)
        }
        parameters.sampler = sampler
        parameters.steps = steps
        parameters.guidance = cfg
        parameters.seed = requestedSeed < 0 ? DiffuseServer.randomSeed() : UInt64(requestedSeed)
        parameters.count = batchSize * iterations
        parameters.strength = strength
        parameters.eta = try fields.double("eta")
        parameters.fieldNames = .a1111
        parameters.initImage = initImage
        parameters.mask = mask
        // Check sizes before resizing anything to them.
        try parameters.validate(against: config, samplers: server.samplers)
        if let image = initImage {
            parameters.initImage = try ImageResize.resized(image, width: parameters.width, height: parameters.height)
        }
        if let mask {
            parameters.mask = try ImageResize.resized(mask, width: parameters.width, height: parameters.height)
        }

        var echo: [(String, JSONValue)] = [
            ("prompt", .string(prompt)), ("negative_prompt", .string(negative)), ("seed", .int(requestedSeed)),
            ("sampler_name", .string(server.samplers.displayName(for: sampler))), ("scheduler", .optional(schedulerText)),
            ("steps", .number(steps)), ("cfg_scale", .double(cfg)), ("width", .number(parameters.width)),
            ("height", .number(parameters.height)), ("batch_size", .number(batchSize)), ("n_iter", .number(iterations)),
        ]
        if imageToImage {
            // As A1111 does, the (large) input images are not echoed.
            echo += [("denoising_strength", .double(strength ?? 0.75)), ("init_images", nil), ("mask", nil)]
        }
        return Parsed(parameters: parameters, echo: .object(echo), batchSize: batchSize)
    }

    /// A1111's `info` object (sent as a JSON string).
    func info(job: GenerationJob, result: GenerationResult, batchSize: Int) -> JSONValue {
        let p = job.parameters
        let seeds = result.images.map { JSONValue.int(Int64(truncatingIfNeeded: $0.seed)) }
        let firstSeed = JSONValue.int(Int64(truncatingIfNeeded: p.seed))
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMddHHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return [
            "prompt": .string(p.prompt),
            "all_prompts": .array(result.images.map { _ in .string(p.prompt) }),
            "negative_prompt": .string(p.negativePrompt),
            "all_negative_prompts": .array(result.images.map { _ in .string(p.negativePrompt) }),
            "seed": firstSeed,
            "all_seeds": .array(seeds),
            "subseed": firstSeed,
            "all_subseeds": .array(seeds),
            "subseed_strength": 0,
            "width": .number(p.width),
            "height": .number(p.height),
            "sampler_name": .string(job.samplerName),
            "cfg_scale": .double(p.guidance),
            "steps": .number(p.steps),
            "batch_size": .number(batchSize),
            "restore_faces": false,
            "sd_model_name": .string(server.model.name),
            "sd_model_hash": nil,
            "seed_resize_from_w": -1,
            "seed_resize_from_h": -1,
            "denoising_strength": p.initImage == nil ? nil : .double(p.strength ?? 0.75),
            "extra_generation_params": [:],
            "index_of_first_image": 0,
            "infotexts": .array(result.images.map { .string($0.infotext) }),
            "styles": [],
            "job_timestamp": .string(formatter.string(from: job.createdAt)),
            "clip_skip": 1,
            "is_using_inpainting_conditioning": .bool(p.mask != nil && server.model.unet.inputChannels == 9),
            "interrupted": .bool(result.interrupted),
        ]
    }

    // MARK: progress

    /// A1111's progress object for the most recently started running job (idle: all zero).
    func progress(includeImage: Bool) -> JSONValue {
        let running = server.queue.runningJobs
        let queued = server.queue.pendingCount
        guard let job = running.last else {
            return [
                "progress": 0.0, "eta_relative": 0.0,
                "state": [
                    "skipped": false, "interrupted": false, "job": "", "job_count": .number(queued),
                    "job_timestamp": "0", "job_no": 0, "sampling_step": 0, "sampling_steps": 0,
                ],
                "current_image": nil, "textinfo": nil,
            ]
        }
        let snapshot = job.snapshot
        let fraction = snapshot.progress?.fraction ?? 0
        let elapsed = snapshot.startedAt.map { Date().timeIntervalSince($0) } ?? 0
        let eta = fraction > 0 ? max(0, elapsed / fraction - elapsed) : 0
        let image: JSONValue = includeImage ? (snapshot.preview.map { .string(ImageCoding.base64PNG($0)) } ?? nil) : nil
        return [
            "progress": .double(fraction),
            "eta_relative": .double(eta),
            "state": [
                "skipped": false,
                "interrupted": .bool(job.requestedStop == .interrupt),
                "job": .string("job(\(job.id))"),
                "job_count": .number(running.count + queued),
                "job_timestamp": .string(String(Int(job.createdAt.timeIntervalSince1970))),
                "job_no": .number(snapshot.progress?.image ?? 0),
                "sampling_step": .number(snapshot.progress?.step ?? 0),
                "sampling_steps": .number(snapshot.progress?.totalSteps ?? job.parameters.steps),
            ],
            "current_image": image,
            "textinfo": nil,
        ]
    }
}
