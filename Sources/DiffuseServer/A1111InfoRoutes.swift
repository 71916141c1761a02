import DiffuseFormats
import DiffusePipelines
import Foundation
import Hummingbird

/// The AUTOMATIC1111 routes that describe the server rather than generate, in A1111's reply
/// shapes, each saying what Diffuse has:
/// - `GET /sdapi/v1/options` (the settings that hold here) and `POST /sdapi/v1/options` (accepts
///   values equal to those; another checkpoint is a 400; any other setting a 501 naming it);
/// - `GET /sdapi/v1/schedulers` (Automatic, Karras), `/sd-vae` (empty: none is
///   loaded), `/embeddings` (those of `serve --embedding`, A1111's shape), `/upscalers` (only "None"), `/memory` (this process's RAM,
///   no CUDA), `/cmd-flags` (the `diffuse serve` settings; never the API key);
/// - `GET /sdapi/v1/loras`: the files of `--lora-dir` (`ServerLoRAs.list`; empty without one), read
///   afresh on every call, so `POST /sdapi/v1/refresh-loras` has nothing to do;
/// - `POST /sdapi/v1/refresh-checkpoints` (nothing to refresh: one model is loaded);
/// - `POST /sdapi/v1/png-info` (`image`: base64 PNG → its `parameters` infotext, parsed).
struct A1111InfoRoutes {
    let server: DiffuseServer

    func register(on router: Router<DiffuseRequestContext>) {
        router.get("/sdapi/v1/options") { _, _ -> Response in HTTPSupport.json(.object(options)) }
        router.post("/sdapi/v1/options") { request, _ -> Response in
            try setOptions(try await HTTPSupport.readFields(request, limit: server.configuration.effectiveMaxBodyBytes))
            return HTTPSupport.json(nil)
        }
        router.get("/sdapi/v1/schedulers") { _, _ -> Response in
            HTTPSupport.json([
                ["name": "automatic", "label": "Automatic", "aliases": nil, "default_rho": -1, "need_inner_model": false],
                ["name": "karras", "label": "Karras", "aliases": nil, "default_rho": 7.0, "need_inner_model": false],
            ])
        }
        router.get("/sdapi/v1/loras") { _, _ -> Response in HTTPSupport.json(ServerLoRAs.list(server.configuration.loraDirectory)) }
        router.post("/sdapi/v1/refresh-loras") { _, _ -> Response in HTTPSupport.json(nil) }
        router.get("/sdapi/v1/sd-vae") { _, _ -> Response in HTTPSupport.json([]) }
        router.get("/sdapi/v1/embeddings") { _, _ -> Response in HTTPSupport.json(embeddings()) }
        router.get("/sdapi/v1/upscalers") { _, _ -> Response in
            HTTPSupport.json([["name": "None", "model_name": nil, "model_path": nil, "model_url": nil, "scale": 4]])
        }
        router.get("/sdapi/v1/memory") { _, _ -> Response in HTTPSupport.json(memory()) }
        router.get("/sdapi/v1/cmd-flags") { _, _ -> Response in HTTPSupport.json(commandFlags()) }
        router.post("/sdapi/v1/refresh-checkpoints") { _, _ -> Response in HTTPSupport.json(nil) }
        router.post("/sdapi/v1/png-info") { request, _ -> Response in
            let fields = try await HTTPSupport.readFields(request, limit: server.configuration.effectiveMaxBodyBytes)
            guard let text = try fields.string("image") else { throw APIError.invalid("image", "image is required: a base64 PNG") }
            return HTTPSupport.json(pngInfo(try ImageCoding.decode(text, field: "image", maxSize: server.configuration.maxSize)))
        }
    }

    /// The settings that hold on this server, under A1111's option names.
    var options: [(String, JSONValue)] {
        [
            ("sd_model_checkpoint", .string(server.model.name)), ("sd_checkpoint_hash", nil),
            ("sd_vae", "Automatic"), ("samples_format", "png"), ("CLIP_stop_at_last_layers", 1),
            ("eta_noise_seed_delta", 0), ("randn_source", "CPU"),
        ]
    }

    /// Accepts options that already hold.
    /// - Throws: 400 for another checkpoint, 501 naming every other setting that would change.
    func setOptions(_ fields: RequestFields) throws {
        let current = options
        var unsupported: [String] = []
        for (name, value) in fields.fields {
            if name == "sd_model_checkpoint", let wanted = try fields.string(name), wanted != server.model.name {
                throw APIError.invalid(name, "model \"\(wanted)\" is not loaded; this server serves \(server.model.name) only")
            }
            if current.first(where: { $0.0 == name })?.1 != value { unsupported.append(name) }
        }
        guard unsupported.isEmpty else {
            throw APIError(.notImplemented, "options cannot be changed on Diffuse (no settings store): \(unsupported.joined(separator: ", "))",
                           field: unsupported[0], code: "not_supported")
        }
    }

    /// A1111's memory reply: this process's resident memory against the machine's total (as A1111
    /// computes it from psutil); no CUDA.
    func memory() -> JSONValue {
        let ram: JSONValue
        if let total = ProcessMemory.totalBytes, let used = ProcessMemory.residentBytes {
            ram = ["free": .double(total - used), "used": .double(used), "total": .double(total)]
        } else {
            ram = ["error": "memory figures are unavailable (no /proc)"]
        }
        return ["ram": ram, "cuda": ["error": "unavailable: Diffuse runs on the CPU"]]
    }

    /// The `diffuse serve` settings in A1111's flat `cmd-flags` shape.
    func commandFlags() -> JSONValue {
        let c = server.configuration
        return [
            "api": true, "nowebui": false, "listen": .bool(c.host != "127.0.0.1" && c.host != "localhost"),
            "server_name": .string(c.host), "port": .number(c.port), "api_key": .bool(c.apiKey != nil),
            "workers": .number(c.workers), "queue_limit": .number(c.queueLimit), "max_size": .number(c.maxSize),
            "max_steps": .number(c.maxSteps), "max_images": .number(c.maxImages), "max_body_bytes": .number(c.effectiveMaxBodyBytes),
            "max_connections": .number(c.maxConnections), "idle_timeout": .double(c.idleTimeout ?? 0),
        ]
    }

    /// A1111's png-info reply: the `parameters` text, the other text chunks, and the infotext's
    /// fields as A1111's `parse_generation_parameters` names them (values as text; `Size` as
    /// `Size-1` and `Size-2`).
    func pngInfo(_ image: PNGImage) -> JSONValue {
        let text = image.textValue(forKeyword: "parameters") ?? ""
        let items = image.text.filter { $0.keyword != "parameters" }.map { ($0.keyword, JSONValue.string($0.text)) }
        var parameters: [(String, JSONValue)] = []
        if let info = Infotext.parse(text) {
            parameters = [("Prompt", .string(info.prompt)), ("Negative prompt", .string(info.negativePrompt))]
            for (key, value) in info.parameters {
                let size = value.split(separator: "x")
                if key == "Size", size.count == 2 {
                    parameters += [("Size-1", .string(String(size[0]))), ("Size-2", .string(String(size[1])))]
                } else {
                    parameters.append((key, .string(value)))
                }
            }
        }
        return ["info": .string(text), "items": .object(items), "parameters": .object(parameters)]
    }

    /// `{"loaded": {WORD: {step, sd_checkpoint, sd_checkpoint_name, shape, vectors}}, "skipped": {}}`
    /// for the textual-inversion embeddings the model's CLIP encoder uses (each of a file's words).
    func embeddings() -> JSONValue {
        let loaded = (server.model.textEncoder as? CLIPPromptEncoder)?.embeddings?.embeddings ?? []
        var entries: [(String, JSONValue)] = []
        for embedding in loaded {
            for name in embedding.names {
                entries.append((name, .object([("step", .null), ("sd_checkpoint", .null), ("sd_checkpoint_name", .null),
                                               ("shape", .int(Int64(embedding.width))), ("vectors", .int(Int64(embedding.count)))])))
            }
        }
        return .object([("loaded", .object(entries)), ("skipped", .object([]))])
    }
}
