import DiffuseFormats
import DiffuseTensor

/// transformers' `BertConfig` (the parts an encoder-only BERT uses), with its defaults.
///
/// all-MiniLM-L6-v2's `config.json` gives vocabSize 30522, hiddenSize 384, 6 layers, 12 heads,
/// intermediateSize 1536, `gelu` (erf), layerNormEps 1e-12, 512 positions, 2 token types.
public struct BertConfig: Sendable, Equatable {
    /// `hidden_act`: the feed-forward activation.
    public enum Activation: String, Sendable {
        /// The exact GELU, x·Φ(x) with erf (transformers' `gelu`).
        case gelu
        /// The tanh approximation of GELU (`gelu_new`, `gelu_pytorch_tanh`).
        case geluTanh = "gelu_new"
        /// max(x, 0).
        case relu

        /// The same function as a linear layer's fused epilogue.
        public var fused: FusedActivation {
            switch self {
            case .gelu: .gelu
            case .geluTanh: .geluTanh
            case .relu: .relu
            }
        }
    }

    /// Rows of the word embedding table.
    public var vocabSize = 30522
    /// Width of every token state.
    public var hiddenSize = 768
    /// Encoder layers.
    public var layers = 12
    /// Attention heads per layer; divides `hiddenSize`.
    public var heads = 12
    /// Width of the feed-forward layer.
    public var intermediateSize = 3072
    /// Activation of the feed-forward layer.
    public var activation = Activation.gelu
    /// Epsilon of every LayerNorm.
    public var layerNormEps: Float = 1e-12
    /// Rows of the (absolute) position embedding table: the longest input.
    public var maxPositions = 512
    /// Rows of the token type (segment) embedding table.
    public var typeVocabSize = 2

    /// BERT-base's configuration.
    public init() {}

    /// Reads a transformers `config.json`.
    ///
    /// - Throws: `ModelConfigError` for a value of the wrong type, an activation or position
    ///   embedding type Diffuse does not implement, or heads that do not divide the hidden size.
    public init(_ c: ModelConfig) throws {
        let width = 1 ... ModelConfig.maxWidth
        vocabSize = try c.int("vocab_size", default: 30522, in: 1 ... 1 << 20)
        hiddenSize = try c.int("hidden_size", default: 768, in: width)
        layers = try c.int("num_hidden_layers", default: 12, in: 1 ... ModelConfig.maxLayers)
        heads = try c.int("num_attention_heads", default: 12, in: width)
        intermediateSize = try c.int("intermediate_size", default: 3072, in: 1 ... 4 * ModelConfig.maxWidth)
        let act = try c.string("hidden_act", default: "gelu")
        switch act {
        case "gelu": activation = .gelu
        case "gelu_new", "gelu_pytorch_tanh": activation = .geluTanh
        case "relu": activation = .relu
        default:
            throw ModelConfigError(source: c.source, key: "hidden_act",
                                   problem: "is \(act); Diffuse supports gelu, gelu_new, gelu_pytorch_tanh and relu")
        }
        layerNormEps = try c.float("layer_norm_eps", default: 1e-12, in: 0 ... 1)
        maxPositions = try c.int("max_position_embeddings", default: 512, in: width)
        typeVocabSize = try c.int("type_vocab_size", default: 2, in: 1 ... 1024)
        try c.require("position_embedding_type", in: ["absolute"], feature: "relative position embeddings")
        try c.require("is_decoder", equals: false, feature: "BERT as a decoder")
        guard heads > 0, hiddenSize % heads == 0 else {
            throw ModelConfigError(source: c.source, key: "num_attention_heads", problem: "(\(heads)) does not divide hidden_size \(hiddenSize)")
        }
        guard typeVocabSize > 0 else {
            throw ModelConfigError(source: c.source, key: "type_vocab_size", problem: "is \(typeVocabSize); at least 1 is needed")
        }
    }
}
