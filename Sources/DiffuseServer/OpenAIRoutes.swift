import Foundation
import Hummingbird

/// OpenAI-compatible image generation:
/// - `POST /v1/images/generations` with `prompt` (required), `n`, `size` (`"WxH"`),
///   `response_format` (`b64_json`, the default, or `url`), `model` (ignored: one model is loaded)
///   and Diffuse's extensions `negative_prompt`, `seed`, `steps`, `guidance_scale`, `sampler`;
///   replies `{created, data: [{b64_json} | {url}]}` (each entry also carries `seed`).
/// - `GET /v1/models`: the loaded model.
struct OpenAIRoutes {
    let server: DiffuseServer

    func register(on router: Router<DiffuseRequestContext>) {
        router.post("/v1/images/generations") { request, context -> Response in
            let fields = try await HTTPSupport.readFields(request, limit: server.configuration.effectiveMaxBodyBytes)
            let (parameters, format) = try parse(fields)
            let (_, result) = try await server.generate(parameters, context: context)
            let base = HTTPSupport.baseURL(request, fallbackHost: server.configuration.host, port: server.configuration.port)
            let data: [JSONValue] = result.images.map { image in
                switch format {
                case .url:
                    let id = server.images.add(image.png)
                    return ["url": .string("\(base)/images/\(id).png"), "seed": .int(Int64(truncatingIfNeeded: image.seed))]
                case .base64:
                    return ["b64_json": .string(ImageCoding.base64PNG(image.png)), "seed": .int(Int64(truncatingIfNeeded: image.seed))]
                }
            }
            return HTTPSupport.json(["created": .int(Int64(Date().timeIntervalSince1970)), "data": .array(data)])
        }

        router.get("/v1/models") { _, _ -> Response in
            HTTPSupport.json([
                "object": "list",
                "data": [[
                    "id": .string(server.model.name),
                    "object": "model",
                    "created": .int(Int64(server.createdAt.timeIntervalSince1970)),
                    "owned_by": "diffuse",
                ]],
            ])
        }
    }

    enum ResponseFormat { case base64, url }

    /// The job an OpenAI request asks for.
    func parse(_ fields: RequestFields) throws -> (GenerationParameters, ResponseFormat) {
        let config = server.configuration
        guard let prompt = try fields.string("prompt"), !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.invalid("prompt", "prompt is required and must not be empty")
        }
        _ = try fields.string("model")
        let format: ResponseFormat
        switch try fields.string("response_format") ?? "b64_json" {
        case "b64_json": format = .base64
        case "url": format = .url
        case let other: throw APIError.invalid("response_format", "response_format must be \"b64_json\" or \"url\", not \"\(other)\"")
        }
        let native = server.model.defaultImageSize
        var width = native, height = native
        if let size = try fields.string("size"), size != "auto" {
            let parts = size.lowercased().split(separator: "x", omittingEmptySubsequences: false)
            guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else {
                throw APIError.invalid("size", "size must look like \"512x512\" (width x height), not \"\(size)\"")
            }
            (width, height) = (w, h)
        }
        var parameters = GenerationParameters(prompt: prompt, width: width, height: height)
        parameters.count = Int(try fields.int("n") ?? 1)
        parameters.negativePrompt = try fields.string("negative_prompt") ?? ""
        parameters.steps = Int(try fields.int("steps") ?? Int64(min(20, config.maxSteps)))
        parameters.guidance = try fields.double("guidance_scale") ?? Double(server.model.guidance(nil))
        parameters.sampler = try server.samplers.resolve(try fields.string("sampler"), field: "sampler")
        let seed = try fields.int("seed", in: -1 ... Int64.max) ?? -1
        parameters.seed = seed < 0 ? DiffuseServer.randomSeed() : UInt64(seed)
        parameters.fieldNames = .openAI
        try parameters.validate(against: config, samplers: server.samplers)
        return (parameters, format)
    }
}
