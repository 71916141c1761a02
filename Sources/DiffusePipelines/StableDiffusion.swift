import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// A loaded Stable Diffusion 1.x / 2.x model: tokenizer, text encoder, UNet, VAE and the
/// scheduler configuration, from a diffusers folder or a single-file checkpoint.
public final class StableDiffusion: @unchecked Sendable {
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    public let unet: UNet2DConditionModel
    public let vae: AutoencoderKL
    public let schedulerConfig: SchedulerConfig
    /// A short name for infotext (`Model:`): the folder or file name.
    public let name: String

    public init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, unet: UNet2DConditionModel, vae: AutoencoderKL,
                schedulerConfig: SchedulerConfig, name: String) {
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.unet = unet
        self.vae = vae
        self.schedulerConfig = schedulerConfig
        self.name = name
    }

    /// Latent size = image size / this.
    public var vaeScaleFactor: Int { vae.config.downscaleFactor }

    /// The native image size: the UNet's `sample_size` × the VAE factor (512 for SD 1.5).
    public var defaultImageSize: Int { (unet.config.sampleSize ?? 64) * vaeScaleFactor }

    /// Loads a diffusers folder (`model_index.json`, `unet/`, `vae/`, `text_encoder/`, `tokenizer/`, `scheduler/`).
    public static func load(folder url: URL) throws -> StableDiffusion {
        let folder = try DiffusersFolder(url)
        let tokenizer = try CLIPTokenizer(directory: folder.componentFolder("tokenizer"))
        let textConfig = try CLIPTextConfig(ModelConfig(contentsOf: folder.configURL("text_encoder")))
        let textEncoder = CLIPTextModel(config: textConfig)
        try textEncoder.load(from: CLIPTextModel.normalizedWeights(SafeTensorsWeights(folder.weightFiles("text_encoder"))),
                             ignoring: CLIPTextModel.ignoredKeys)
        let unet = UNet2DConditionModel(config: try UNet2DConditionConfig(ModelConfig(contentsOf: folder.configURL("unet"))))
        try unet.load(from: SafeTensorsWeights(folder.weightFiles("unet")))
        let vae = AutoencoderKL(config: try AutoencoderKLConfig(ModelConfig(contentsOf: folder.configURL("vae"))))
        try vae.load(from: SafeTensorsWeights(folder.weightFiles("vae")))
        let schedulerURL = try folder.configURL("scheduler")
        guard let schedulerData = FileManager.default.contents(atPath: schedulerURL.path) else {
            throw PipelineError("\(schedulerURL.path) cannot be read")
        }
        let schedulerConfig = try SchedulerConfig(jsonData: schedulerData)
        return StableDiffusion(tokenizer: tokenizer, textEncoder: textEncoder, unet: unet, vae: vae,
                               schedulerConfig: schedulerConfig, name: url.lastPathComponent)
    }
}
