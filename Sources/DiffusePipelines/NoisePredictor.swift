import DiffuseModels
import DiffuseNN
import DiffuseTensor

/// The network a pipeline denoises with: given noisy samples and timesteps (and token states for
/// text-conditioned models) it predicts the noise, v, or the clean sample, as its scheduler
/// configuration's `prediction_type` says.
public protocol NoisePredictor: Module {
    /// Channels of the sample it reads (4 for SD latents, 9 for inpainting UNets, 3 for pixels).
    var inputChannels: Int { get }
    /// Channels it predicts.
    var outputChannels: Int { get }
    /// The `sample_size` of its config (latent or pixel side), if given.
    var nativeSampleSize: Int? { get }
    /// The width of the token states it cross-attends to; nil for an unconditional model.
    var contextDimension: Int? { get }
    /// The width of the pooled prompt embedding it also takes (a projection class embedding);
    /// nil when it takes none.
    var pooledDimension: Int? { get }
    /// The width of the guidance-scale embedding it takes (`Conditioning.guidanceEmbedding`); nil
    /// when guidance is classifier-free (or absent) for it.
    var guidanceEmbeddingDimension: Int? { get }
    /// The width of the pooled text embedding it adds to the time embedding together with
    /// `timeIDCount` time ids (`Conditioning.addedTextEmbeds`, `addedTimeIDs`: SDXL's "text_time"),
    /// when `timeIDWidth` — the width of each id's sinusoidal embedding — is set; nil otherwise.
    var timeIDWidth: Int? { get }
    /// `sample` `[B, inputChannels, h, w]`, one timestep per batch entry (or one for all), and
    /// the prompts' `conditioning` (B rows; ignored when unconditional) → `[B, outputChannels, h, w]`.
    func predict(_ sample: Tensor, timesteps: [Float], conditioning: Conditioning?) -> Tensor
}

extension UNet2DConditionModel: NoisePredictor {
    public var inputChannels: Int { config.inChannels }
    public var outputChannels: Int { config.outChannels }
    public var nativeSampleSize: Int? { config.sampleSize }
    public var contextDimension: Int? { config.crossAttentionDim[0] }
    public var pooledDimension: Int? { config.classEmbeddingInputDim }
    public var guidanceEmbeddingDimension: Int? { config.timeConditionDim }
    public var timeIDWidth: Int? { config.additionTimeEmbedDim }
    public func predict(_ sample: Tensor, timesteps: [Float], conditioning: Conditioning?) -> Tensor {
        guard let conditioning else { preconditionFailure("UNet2DConditionModel needs token states to attend to") }
        precondition(pooledDimension == nil || conditioning.pooled != nil, "UNet2DConditionModel: this model needs pooled prompt embeddings")
        var added: (textEmbeds: Tensor, timeIDs: Tensor)? = nil
        if timeIDWidth != nil {
            guard let textEmbeds = conditioning.addedTextEmbeds, let timeIDs = conditioning.addedTimeIDs else {
                preconditionFailure("UNet2DConditionModel: this text_time model needs text embeds and time ids")
            }
            added = (textEmbeds, timeIDs)
        }
        return self(sample, timesteps: timesteps, encoderHiddenStates: conditioning.tokens,
                    classLabels: pooledDimension == nil ? nil : conditioning.pooled, timestepCondition: conditioning.guidanceEmbedding,
                    addedConditions: added)
    }
}

extension UNet2DModel: NoisePredictor {
    public var inputChannels: Int { config.inChannels }
    public var outputChannels: Int { config.outChannels }
    public var nativeSampleSize: Int? { config.sampleSize }
    public var contextDimension: Int? { nil }
    public var pooledDimension: Int? { nil }
    public var guidanceEmbeddingDimension: Int? { nil }
    public var timeIDWidth: Int? { nil }
    public func predict(_ sample: Tensor, timesteps: [Float], conditioning: Conditioning?) -> Tensor {
        self(sample, timesteps: timesteps)
    }
}
