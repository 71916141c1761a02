import DiffuseFormats

/// A diffusers/transformers `config.json`, read with each class's defaults for missing keys
/// (`ConfigFile`: a present value of the wrong type, out of range, or an option Diffuse does not
/// implement is an error that names the file and the key).
public typealias ModelConfig = ConfigFile

/// A model configuration that cannot be used: names the file and the key.
public typealias ModelConfigError = ConfigError

extension ConfigFile {
    /// The largest channel count, width or table size a model config may ask for, and the most
    /// layers per block: far above any published Stable Diffusion model (1280 channels, 2–3
    /// layers), far below sizes whose weights could not be allocated.
    public static let maxWidth = 16384
    public static let maxLayers = 64
}
