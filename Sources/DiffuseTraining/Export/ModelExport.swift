import DiffuseFormats
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// Writes a trained model as a diffusers-layout folder that `diffuse generate --model` (and
/// diffusers, for the UNet and scheduler) loads:
///
///     model_index.json
///     unet/config.json, unet/diffusion_pytorch_model.safetensors
///     scheduler/scheduler_config.json
///     text_encoder/, tokenizer/, vae/   (linked or copied from the model trained with), or for a
///                                       sentence encoder, `_diffuse_text_encoder` pointing at it
///
/// Every file is written atomically, the weights last but one and model_index.json last.
public struct ModelExport {
    /// Where the text encoder of the exported model comes from.
    public enum TextEncoderSource: Sendable {
        /// A sentence-transformers folder (BERT), referenced by a relative path; `length` token states per prompt.
        case sentenceEncoder(folder: URL, length: Int)
        /// A diffusers model folder whose `text_encoder/` and `tokenizer/` are linked or copied.
        case diffusers(folder: URL)
    }

    public var unetClassName: String
    /// The UNet config as given (`_class_name` is set to `unetClassName`).
    public var unetConfig: [String: JSONValue]
    public var schedulerConfig: SchedulerConfig
    public var textEncoder: TextEncoderSource?
    /// A diffusers folder whose `vae/` the latent model was trained with.
    public var vaeSource: URL?
    /// Pixel models: the patch size (`_diffuse_patch_size`), 1 = none.
    public var patchSize = 1
    /// The model takes prompts only through the pooled embedding (`_diffuse_pooled_only`).
    public var pooledOnly = false
    /// The pooled embedding is also a token the UNet attends to (`_diffuse_pooled_token`).
    public var pooledToken = false
    /// The guidance scale to generate with by default (`_diffuse_guidance`), or nil (7.5).
    public var guidance: Float? = nil
    /// The image sizes the model supports (`_diffuse_sizes`, `[[width, height], …]` in pixels),
    /// or nil for any size.
    public var sizes: [DiffusersFolder.Size]? = nil

    public init(unetClassName: String, unetConfig: [String: JSONValue], schedulerConfig: SchedulerConfig,
                textEncoder: TextEncoderSource?, vaeSource: URL?) {
        self.unetClassName = unetClassName
        self.unetConfig = unetConfig
        self.schedulerConfig = schedulerConfig
        self.textEncoder = textEncoder
        self.vaeSource = vaeSource
    }

    /// Writes (or updates) the folder with `weights` as the UNet's weights.
    /// - Throws: `FileIOError` / `SafeTensorsError` / `TrainingError` naming the path.
    public func write(to output: URL, weights: [String: Tensor]) throws {
        let fm = FileManager.default
        for sub in ["unet", "scheduler"] {
            try fm.createDirectory(at: output.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        var unet = unetConfig
        unet["_class_name"] = .string(unetClassName)
        try JSONValue.object(sorting: unet).writeConfigFile(to: output.appendingPathComponent("unet/config.json"))
        try schedulerConfig.json.writeConfigFile(to: output.appendingPathComponent("scheduler/scheduler_config.json"))
        // diffusers loads an unconditional UNet + scheduler as a DDPMPipeline and a latent model
        // as a StableDiffusionPipeline; a text-conditioned pixel model has no diffusers class.
        var index = ModelIndex(className: unetClassName == "UNet2DModel" ? "DDPMPipeline" : vaeSource != nil ? "StableDiffusionPipeline" : "DiffuseTextToPixelPipeline")
        index.components["unet"] = .init("diffusers", unetClassName)
        index.components["scheduler"] = .init("diffusers", schedulerConfig.className ?? "DDPMScheduler")
        switch textEncoder {
        case .sentenceEncoder(let folder, let length)?:
            index.components["text_encoder"] = .init("transformers", "BertModel")
            index.components["tokenizer"] = .init("transformers", "BertTokenizer")
            index.textEncoder = Self.relativePath(from: output, to: folder)
            index.promptLength = length
        case .diffusers(let folder)?:
            try Self.linkOrCopy(folder.appendingPathComponent("text_encoder"), to: output.appendingPathComponent("text_encoder"))
            try Self.linkOrCopy(folder.appendingPathComponent("tokenizer"), to: output.appendingPathComponent("tokenizer"))
            index.components["text_encoder"] = .init("transformers", "CLIPTextModel")
            index.components["tokenizer"] = .init("transformers", "CLIPTokenizer")
        case nil:
            break
        }
        if let vaeSource {
            try Self.linkOrCopy(vaeSource.appendingPathComponent("vae"), to: output.appendingPathComponent("vae"))
            index.components["vae"] = .init("diffusers", "AutoencoderKL")
        }
        index.patchSize = patchSize
        index.pooledOnly = pooledOnly
        index.pooledToken = pooledToken
        index.guidance = guidance.map { Double($0) }
        index.sizes = sizes
        try ModelWeights.write(weights, to: output.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        try index.write(to: output.appendingPathComponent("model_index.json"))
    }


    /// `to` relative to `from` when they share a root (`../../.deps/x`), else `to`'s absolute path.
    static func relativePath(from base: URL, to target: URL) -> String {
        let a = base.standardizedFileURL.resolvingSymlinksInPath().pathComponents
        let b = target.standardizedFileURL.resolvingSymlinksInPath().pathComponents
        var common = 0
        while common < a.count, common < b.count, a[common] == b[common] { common += 1 }
        guard common > 1 else { return target.standardizedFileURL.path }
        let ups = Array(repeating: "..", count: a.count - common)
        return (ups + b[common...]).joined(separator: "/")
    }

    /// Hard-links (or copies) every file of `source` into `destination` when it is not there yet.
    static func linkOrCopy(_ source: URL, to destination: URL) throws {
        let fm = FileManager.default
        guard fm.fileExists(atPath: source.path) else { throw TrainingError("\(source.path) is missing") }
        if fm.fileExists(atPath: destination.path) { return }
        let staging = destination.deletingLastPathComponent().appendingPathComponent(".\(destination.lastPathComponent).partial")
        if fm.fileExists(atPath: staging.path) { try fm.removeItem(at: staging) }
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        do {
            let files = fm.enumerator(atPath: source.path)?.compactMap { $0 as? String } ?? []
            for relative in files {
                let from = source.appendingPathComponent(relative), to = staging.appendingPathComponent(relative)
                var isDirectory: ObjCBool = false
                fm.fileExists(atPath: from.path, isDirectory: &isDirectory)
                if isDirectory.boolValue {
                    try fm.createDirectory(at: to, withIntermediateDirectories: true)
                } else if (try? fm.linkItem(at: from.resolvingSymlinksInPath(), to: to)) == nil {
                    try fm.copyItem(at: from.resolvingSymlinksInPath(), to: to)
                }
            }
            try fm.moveItem(at: staging, to: destination)
        } catch {
            try? fm.removeItem(at: staging)
            throw TrainingError("cannot copy \(source.path) to \(destination.path): \(error.localizedDescription)")
        }
    }
}

/// Model weights as float32 safetensors, keys sorted.
public enum ModelWeights {
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try TrainingCheckpoint.writeTensors(tensors, metadata: metadata, to: url)
    }
}
