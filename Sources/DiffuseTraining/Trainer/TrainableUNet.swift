import DiffuseFormats
import DiffuseAutograd
import DiffuseModels
import DiffuseNN
import DiffusePipelines
import DiffuseTensor

/// The network being trained: a text-conditioned `UNet2DConditionModel` or an unconditional
/// `UNet2DModel`, run on `Variable`s so gradients reach its parameters.
public enum TrainableUNet {
    case conditional(UNet2DConditionModel)
    case unconditional(UNet2DModel)

    /// Builds the model a diffusers UNet `config.json` describes (`_class_name`, or
    /// `UNet2DConditionModel` when a block type has cross-attention), with untrained weights.
    /// - Throws: `ModelConfigError` naming the key.
    public init(config: ModelConfig) throws {
        let blocks = try config.strings("down_block_types", default: []) + config.strings("up_block_types", default: [])
        let inferred = blocks.contains { $0.contains("CrossAttn") } ? "UNet2DConditionModel" : "UNet2DModel"
        switch try config.string("_class_name", default: inferred) {
        case "UNet2DConditionModel": self = .conditional(UNet2DConditionModel(config: try UNet2DConditionConfig(config)))
        case "UNet2DModel": self = .unconditional(UNet2DModel(config: try UNet2DConfig(config)))
        case let other:
            throw TrainingError("\(config.source): \"_class_name\" is \(other); diffuse train builds UNet2DModel or UNet2DConditionModel")
        }
    }

    public var module: any NoisePredictor {
        switch self {
        case .conditional(let m): return m
        case .unconditional(let m): return m
        }
    }

    public var className: String {
        switch self {
        case .conditional: return "UNet2DConditionModel"
        case .unconditional: return "UNet2DModel"
        }
    }

    public var gradientCheckpointing: Bool {
        get {
            switch self {
            case .conditional(let m): return m.gradientCheckpointing
            case .unconditional(let m): return m.gradientCheckpointing
            }
        }
        nonmutating set {
            switch self {
            case .conditional(let m): m.gradientCheckpointing = newValue
            case .unconditional(let m): m.gradientCheckpointing = newValue
            }
        }
    }

    /// The training forward pass: `sample` `[B, C, H, W]`, integer timesteps, the captions'
    /// encoding for a conditional model (token states `[B, N, D]`, and pooled embeddings when the
    /// UNet has a class embedding; nil for an unconditional model).
    public func forward(_ sample: Variable, timesteps: [Int], conditioning: PromptEmbedding?) -> Variable {
        forward(sample, timesteps: timesteps, tokenStates: conditioning.map { Variable($0.tokens) }, pooled: conditioning?.pooled)
    }

    /// The training forward pass with token states `[B, N, D]` that may themselves be trained
    /// (a text encoder's output on `Variable`s: the gradient flows back into it), and pooled
    /// embeddings `[B, P]` when the UNet has a class embedding.
    public func forward(_ sample: Variable, timesteps: [Int], tokenStates: Variable?, pooled: Tensor?) -> Variable {
        let t = timesteps.map(Float.init)
        switch self {
        case .conditional(let m):
            guard let tokenStates else { preconditionFailure("TrainableUNet: a conditional UNet needs token states") }
            let labels = m.classEmbedding == nil ? nil : pooled.map { Variable($0) }
            precondition(m.classEmbedding == nil || labels != nil, "TrainableUNet: this UNet needs pooled prompt embeddings")
            return m(sample, timesteps: t, encoderHiddenStates: tokenStates, classLabels: labels)
        case .unconditional(let m):
            return m(sample, timesteps: t)
        }
    }

    /// Initializes every parameter for training from scratch, as PyTorch's layer defaults do
    /// (weights and biases uniform in ±1/√fan_in; normalization scales 1, shifts 0) — except the
    /// last convolution, which starts at zero so the untrained model predicts 0 (a common choice
    /// for diffusion UNets that speeds up the start of training), and the output layer of a class
    /// embedding, which starts at zero so that the new conditioning begins as a no-op (and a
    /// model that gains one keeps its behaviour at first, see `Train --init-from`).
    public func initializeWeights(seed: UInt64) {
        DefaultInitialization.apply(to: module.namedParameters(), seed: seed, zeroLayers: ["conv_out", "class_embedding.linear_2"])
    }
}
