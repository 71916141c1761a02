import DiffuseFormats
import DiffusePipelines
import Foundation
import Hummingbird

/// OpenAI-compatible image generation:
/// - `POST /v1/images/generations` with `prompt` (required), `n`, `size` (`"WxH"`),
///   `response_format` (`b64_json`, the default, or `url`), `model` (ignored: one model is loaded)
///   and Diffuse's extensions `negative_prompt`, `seed`, `steps`, `guidance_scale`, `sampler`,
///   `prompt_syntax` (`plain`, the default, or `a1111`);
///   replies `{created, data: [{b64_json} | {url}]}` (each entry also carries `seed`).
/// - `POST /v1/images/edits` and `POST /v1/images/variations` (multipart/form-data):
///   `OpenAIImageEditRoutes`.
/// - `GET /v1/models`: the loaded model; `GET /v1/models/<id>`: it, or 404 for another id.
struct OpenAIRoutes {
    let server: DiffuseServer

    func register(on router: Router<DiffuseRequestContext>) {
        router.post("/v1/images/generations") { request, context -> Response in
            let fields = try await HTTPSupport.readFields(request, limit: server.configuration.effectiveMaxBodyBytes)
            let (parameters, format) = try parse(fields)
            let (_, result) = try await server.generate(parameters, context: context)
            return reply(result, format: format, request: request)
        }
        router.get("/v1/models") { _, _ -> Response in
            HTTPSupport.json(["object": "list", "data": [modelObject]])
        }
        router.get("/v1/models/:id") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard id == server.model.name else {
                throw APIError(.notFound, "The model '\(id)' does not exist; this server serves '\(server.model.name)'",
                               field: "model", code: "model_not_found")
            }
            return HTTPSupport.json(modelObject)
        }
    }

    /// The loaded model as an OpenAI model object.
    var modelObject: JSONValue {
        [
            "id": .string(server.model.name),
            "object": "model",
            "created": .int(Int64(server.createdAt.timeIntervalSince1970)),
            "owned_by": "diffuse",
        ]
    }

    enum ResponseFormat { case base64, url }

    /// The images reply: `{created, data}`, each image as base64 or as a link to the image store.
    func reply(_ result: GenerationResult, format: ResponseFormat, request: Request) -> Response {
        let base = HTTPSupport.baseURL(request, fallbackHost: server.configuration.host, port: server.configuration.port)
        let data: [JSONValue] = result.images.map { image in
            let seed = JSONValue.int(Int64(truncatingIfNeeded: image.seed))
            switch format {
            case .url: return ["url": .string("\(base)/images/\(server.images.add(image.png)).png"), "seed": seed]
            case .base64: return ["b64_json": .string(ImageCoding.base64PNG(image.png)), "seed": seed]
            }
        }
        return HTTPSupport.json(["created": .int(Int64(Date().timeIntervalSince1970)), "data": .array(data)])
    }

    /// The job an OpenAI request asks for.
    ///
    /// - Parameters:
    ///   - prompt: the prompt to use instead of the `prompt` field (variations have none).
    ///   - initImage: the edit's or variation's image; its size (rounded down to a multiple of 8)
    ///     is the default `size`.
    ///   - mask: the edit's mask (white = repaint), at the image's size.
    ///   - strength: the default strength for an init image (nil = the pipeline's).
    func parse(_ fields: RequestFields, prompt fixedPrompt: String? = nil, initImage: PNGImage? = nil,
               mask: PNGImage? = nil, strength: Double? = nil) throws -> (GenerationParameters, ResponseFormat) {
        let config = server.configuration
        let prompt: String
        if let fixedPrompt {
            prompt = fixedPrompt
        } else {
            guard let text = try fields.string("prompt"), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw APIError.invalid("prompt", "prompt is required and must not be empty")
            }
            prompt = text
        }
        _ = try fields.string("model")
        let format: ResponseFormat
        switch try fields.string("response_format") ?? "b64_json" {
        case "b64_json": format = .base64
        case "url": format = .url
        case let other: throw APIError.invalid("response_format", "response_format must be \"b64_json\" or \"url\", not \"\(other)\"")
        }
        let native = server.model.defaultImageSize
        var width = initImage.map { max(8, $0.width / 8 * 8) } ?? native
        var height = initImage.map { max(8, $0.height / 8 * 8) } ?? native
        if let size = try fields.string("size"), size != "auto" {
            let parts = size.lowercased().split(separator: "x", omittingEmptySubsequences: false)
            guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else {
                throw APIError.invalid("size", "size must look like \"512x512\" (width x height), not \"\(size)\"")
            }
            (width, height) = (w, h)
        }
        var parameters = GenerationParameters(prompt: prompt, width: width, height: height)
        parameters.fieldNames = .openAI
        parameters.count = Int(try fields.int("n") ?? 1)
        parameters.negativePrompt = try fields.string("negative_prompt") ?? ""
        parameters.promptSyntax = try GenerationParameters.promptSyntax(fields, default: .plain)
        parameters.steps = Int(try fields.int("steps") ?? Int64(min(20, config.maxSteps)))
        parameters.guidance = try fields.double("guidance_scale") ?? Double(server.model.guidance(nil))
        parameters.sampler = try server.samplers.resolve(try fields.string("sampler"), field: "sampler")
        let seed = try fields.int("seed", in: -1 ... Int64.max) ?? -1
        parameters.seed = seed < 0 ? DiffuseServer.randomSeed() : UInt64(seed)
        if initImage != nil { parameters.strength = try fields.double("strength") ?? strength }
        (parameters.initImage, parameters.mask) = (initImage, mask)
        try parameters.validate(against: config, samplers: server.samplers)
        if let initImage { parameters.initImage = try ImageResize.resized(initImage, width: parameters.width, height: parameters.height) }
        if let mask { parameters.mask = try ImageResize.resized(mask, width: parameters.width, height: parameters.height) }
        return (parameters, format)
    }
}
