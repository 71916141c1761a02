import Foundation

/// The layout of a diffusers pipeline folder: `model_index.json` naming the components, and one
/// sub-folder per component (`unet/`, `vae/`, `text_encoder/`, `tokenizer/`, `scheduler/`) with its
/// configuration and weights.
public struct DiffusersFolder: Sendable {
    public let root: URL
    /// The folder's `model_index.json`.
    public let index: ModelIndex

    public init(_ root: URL) throws {
        self.root = root
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DiffusersFolderError(path: root.path, problem: "is not a folder")
        }
        let indexURL = root.appendingPathComponent("model_index.json")
        guard FileManager.default.fileExists(atPath: indexURL.path) else {
            throw DiffusersFolderError(path: indexURL.path, problem: "is missing: not a diffusers pipeline folder")
        }
        index = try ModelIndex(contentsOf: indexURL)
    }

    /// The pipeline class (`StableDiffusionPipeline`, `StableDiffusionInpaintPipeline`, …).
    public var pipelineClass: String { index.className }

    /// Component name → [library, class], as model_index.json lists them (null components omitted).
    public var components: [String: [String]] { index.components.mapValues { [$0.library, $0.className] } }

    /// Diffuse's own key `_diffuse_steps`: the denoising steps the model is meant to run with
    /// (a few-step model's), used when a command is given none.
    public var steps: Int? { index.steps }

    /// An image size in pixels.
    public typealias Size = ModelIndex.Size

    /// Diffuse's own key `_diffuse_sizes` (`[[width, height], …]` in pixels): the image sizes the
    /// model draws well — a small model trained at one size draws frames or noise at others.
    /// nil (the key absent) = any size.
    public var sizes: [Size]? { index.sizes }

    /// Diffuse's own key `_diffuse_guidance`: the classifier-free guidance scale the model works
    /// best at, used when a command is given none (diffusers' pipelines default to 7.5, too strong
    /// for a small model: the bundled emoji model's caption top-5 is 47% at 7.5 and 68% at 4).
    public var guidance: Double? { index.guidance }

    /// Diffuse's own key `_diffuse_pooled_token`: the UNet also attends to the pooled sentence
    /// embedding, appended to the prompt's token states as one more token.
    public var pooledToken: Bool { index.pooledToken }

    /// Diffuse's own key `_diffuse_pooled_only`: a sentence-encoder model conditioned only through
    /// the pooled sentence embedding — the UNet attends to the empty prompt's token states whatever
    /// the prompt, as in training.
    public var pooledOnly: Bool { index.pooledOnly }

    /// Diffuse's own key `_diffuse_patch_size`: a pixel model whose UNet works on f × f pixel
    /// blocks folded into channels (`pixel_unshuffle`), e.g. 2 for a 32×32 model run at 16×16 × 12.
    public var patchSize: Int { index.patchSize }

    /// Diffuse's own key `_diffuse_prompt_length`: the number of token states a sentence-encoder
    /// model was trained with (every prompt is padded or cut to it).
    public var promptLength: Int? { index.promptLength }

    /// Diffuse's own key `_diffuse_text_encoder`: where the text encoder lives when the folder does
    /// not carry a `text_encoder/` — a path relative to the folder, or a shared component's folder
    /// name looked up beside the model folder (`sharedComponentFolder`) — so a small model can use
    /// an encoder installed once instead of a copy of its own.
    public var textEncoderPath: String? { index.textEncoder }

    /// The folder `textEncoderPath` names: relative to the model folder when that exists, else, for
    /// a bare folder name, the folder of that name beside the model folder (models installed side
    /// by side share it). Nil when the key is absent.
    public var sharedComponentFolder: URL? {
        guard let path = textEncoderPath else { return nil }
        let relative = URL(fileURLWithPath: path, relativeTo: root).standardizedFileURL
        guard !FileManager.default.fileExists(atPath: relative.path), !path.contains("/") else { return relative }
        return root.deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL
    }

    /// Whether the folder has component `name` (listed in model_index.json and present on disk).
    public func hasComponent(_ name: String) -> Bool {
        components[name] != nil && FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path)
    }

    /// The folder of component `name`, which must exist.
    public func componentFolder(_ name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DiffusersFolderError(path: url.path, problem: "is missing (the pipeline needs its \(name))")
        }
        return url
    }

    /// `config.json` (or `scheduler_config.json`) of a component.
    public func configURL(_ name: String) throws -> URL {
        let folder = try componentFolder(name)
        for file in ["config.json", "scheduler_config.json"] {
            let url = folder.appendingPathComponent(file)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw DiffusersFolderError(path: folder.path, problem: "has no config.json")
    }

    /// The safetensors weight files of a component: a single file, the fp16 variant, or the shards
    /// a `*.safetensors.index.json` lists. `.bin` (pickle) weights are refused with an explanation.
    public func weightFiles(_ name: String) throws -> [URL] {
        let folder = try componentFolder(name)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let preferred = ["diffusion_pytorch_model.safetensors", "model.safetensors",
                         "diffusion_pytorch_model.fp16.safetensors", "model.fp16.safetensors"]
        for file in preferred where files.contains(file) { return [folder.appendingPathComponent(file)] }
        if let index = files.sorted().first(where: { $0.hasSuffix(".safetensors.index.json") }) {
            let url = folder.appendingPathComponent(index)
            guard let map = try ConfigFile(contentsOf: url).value("weight_map")?.objectValue,
                  case let files = map.values.compactMap(\.stringValue), files.count == map.count else {
                throw DiffusersFolderError(path: url.path, problem: "has no weight_map")
            }
            return Set(files).sorted().map { folder.appendingPathComponent($0) }
        }
        if files.contains(where: { $0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") }) {
            throw DiffusersFolderError(path: folder.path, problem: "has only pickle (.bin) weights; convert them to .safetensors")
        }
        throw DiffusersFolderError(path: folder.path, problem: "has no .safetensors weights")
    }
}

public struct DiffusersFolderError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "\(path) \(problem)" }
}
