import DiffuseFormats
import Foundation
import Hummingbird

/// OpenAI's `images.edit` and `images.create_variation`, multipart/form-data as the OpenAI client
/// sends them (PNG files; the other fields as in `/v1/images/generations`, `n`, `size`,
/// `response_format`, `model`, and Diffuse's `steps`, `seed`, `guidance_scale`, `sampler`,
/// `negative_prompt`, `strength`):
/// - `POST /v1/images/edits`: `image` (or `image[]`), `prompt`, optional `mask` → inpainting.
///   The mask's transparent pixels (alpha < 50%) are repainted, as OpenAI documents; without a
///   `mask` file, the image's own transparent pixels are; a mask without alpha is read as Diffuse
///   reads masks (white = repaint). Strength: the pipeline's inpainting default.
/// - `POST /v1/images/variations`: `image` → image-to-image of it with an empty prompt at
///   strength 0.6 (`strength` overrides).
/// The output size defaults to the image's (rounded down to a multiple of 8).
struct OpenAIImageEditRoutes {
    let server: DiffuseServer
    let openAI: OpenAIRoutes

    /// The strength of a variation: enough to change the picture, little enough to keep it.
    static let variationStrength = 0.6

    func register(on router: Router<DiffuseRequestContext>) {
        router.post("/v1/images/edits") { request, context -> Response in
            let form = try await HTTPSupport.readForm(request, limit: server.configuration.effectiveMaxBodyBytes)
            let fields = RequestFields(form: form.fields)
            let image = try self.image(form)
            let mask = try editMask(image: image, maskFile: form.file("mask"))
            let (parameters, format) = try openAI.parse(fields, initImage: try image.converted(toChannels: 3), mask: mask)
            let (_, result) = try await server.generate(parameters, context: context)
            return openAI.reply(result, format: format, request: request)
        }
        router.post("/v1/images/variations") { request, context -> Response in
            let form = try await HTTPSupport.readForm(request, limit: server.configuration.effectiveMaxBodyBytes)
            let image = try self.image(form).converted(toChannels: 3)
            let (parameters, format) = try openAI.parse(RequestFields(form: form.fields), prompt: "", initImage: image,
                                                        strength: OpenAIImageEditRoutes.variationStrength)
            let (_, result) = try await server.generate(parameters, context: context)
            return openAI.reply(result, format: format, request: request)
        }
    }

    /// The `image` file (`image[]` when the client sent a list: its first).
    private func image(_ form: MultipartForm) throws -> PNGImage {
        guard let part = form.file("image", "image[]") else {
            throw APIError.invalid("image", "image is required: a PNG file")
        }
        return try ImageCoding.decode(png: part.data, field: "image", maxSize: server.configuration.maxSize)
    }

    /// The inpainting mask (one channel, white = repaint) for an edit.
    /// - Throws: `APIError.invalid("mask")` when there is nothing to repaint or the sizes differ.
    func editMask(image: PNGImage, maskFile: MultipartForm.Part?) throws -> PNGImage {
        let source = try maskFile.map { try ImageCoding.decode(png: $0.data, field: "mask", maxSize: server.configuration.maxSize) } ?? image
        guard source.width == image.width, source.height == image.height else {
            throw APIError.invalid("mask", "mask is \(source.width)x\(source.height) but image is \(image.width)x\(image.height); they must match")
        }
        let hasAlpha = source.channels == 2 || source.channels == 4
        guard hasAlpha else {
            guard maskFile != nil else {
                throw APIError.invalid("mask", "mask is required when image has no transparent pixels (transparent = edit)")
            }
            return try source.converted(toChannels: 1)
        }
        let c = source.channels
        let pixels = (0 ..< source.width * source.height).map { source.pixels[$0 * c + c - 1] < 128 ? UInt8(255) : 0 }
        guard pixels.contains(255) else {
            throw APIError.invalid("mask", maskFile == nil
                ? "mask is required when image has no transparent pixels (transparent = edit)"
                : "mask has no transparent pixels: nothing to edit")
        }
        return try PNGImage(width: source.width, height: source.height, channels: 1, pixels: pixels)
    }
}
