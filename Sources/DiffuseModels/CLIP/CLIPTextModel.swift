import DiffuseAutograd
import DiffuseFormats
import DiffuseNN
import DiffuseTensor

/// transformers' `CLIPTextConfig`, with its defaults.
public struct CLIPTextConfig: Sendable, Equatable {
    public enum Activation: String, Sendable {
        case quickGELU = "quick_gelu", gelu, geluTanh = "gelu_pytorch_tanh"

        /// The same function as a linear layer's fused epilogue.
        public var fused: FusedActivation {
            switch self {
            case .quickGELU: .quickGELU
            case .gelu: .gelu
            case .geluTanh: .geluTanh
            }
        }

        /// The function on its own, on `Tensor`s or `Variable`s.
        public func apply<T: TensorValue>(_ x: T) -> T {
            switch self {
            case .quickGELU: x.quickGELU()
            case .gelu: x.gelu(approximate: false)
            case .geluTanh: x.gelu(approximate: true)
            }
        }
    }
    public var vocabSize = 49408
    public var hiddenSize = 512
    public var intermediateSize = 2048
    public var layers = 12
    public var heads = 8
    public var maxPositions = 77
    public var activation = Activation.quickGELU
    public var layerNormEps: Float = 1e-5

    public init() {}

    public init(_ c: ModelConfig) throws {
        let width = 1 ... ModelConfig.maxWidth
        vocabSize = try c.int("vocab_size", default: 49408, in: 1 ... 1 << 20)
        hiddenSize = try c.int("hidden_size", default: 512, in: width)
        intermediateSize = try c.int("intermediate_size", default: 2048, in: 1 ... 4 * ModelConfig.maxWidth)
        layers = try c.int("num_hidden_layers", default: 12, in: 1 ... ModelConfig.maxLayers)
        heads = try c.int("num_attention_heads", default: 8, in: width)
        maxPositions = try c.int("max_position_embeddings", default: 77, in: width)
        let act = try c.string("hidden_act", default: "quick_gelu")
        guard let a = Activation(rawValue: act) else {
            throw ModelConfigError(source: c.source, key: "hidden_act", problem: "is \(act); Diffuse supports quick_gelu, gelu and gelu_pytorch_tanh")
        }
        activation = a
        layerNormEps = try c.float("layer_norm_eps", default: 1e-5, in: 0 ... 1)
        guard hiddenSize % heads == 0 else {
            throw ModelConfigError(source: c.source, key: "num_attention_heads", problem: "(\(heads)) does not divide hidden_size \(hiddenSize)")
        }
    }
}

/// One pre-norm transformer layer of CLIP's text tower.
public final class CLIPEncoderLayer: Module {
    public static let keyOverrides = ["selfAttention": "self_attn"]
    public let selfAttention: CLIPAttention
    public let layerNorm1: LayerNorm
    public let mlp: CLIPMLP
    public let layerNorm2: LayerNorm

    init(_ c: CLIPTextConfig) {
        selfAttention = CLIPAttention(dim: c.hiddenSize, heads: c.heads)
        layerNorm1 = LayerNorm(c.hiddenSize, epsilon: c.layerNormEps)
        mlp = CLIPMLP(c)
        layerNorm2 = LayerNorm(c.hiddenSize, epsilon: c.layerNormEps)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = selfAttention(layerNorm1(x), residual: x)
        return mlp(layerNorm2(h), residual: h)
    }

    /// The same layer as separate ops, on `Variable`s (training) or `Tensor`s.
    func callAsFunction<T: TensorValue>(_ x: T) -> T {
        let h = x + selfAttention(layerNorm1(x))
        return h + mlp(layerNorm2(h))
    }
}

/// CLIP's causal multi-head self-attention (`q_proj`, `k_proj`, `v_proj`, `out_proj`, all with biases).
public final class CLIPAttention: Module {
    public let qProj: Linear
    public let kProj: Linear
    public let vProj: Linear
    public let outProj: Linear
    let heads: Int

    init(dim: Int, heads: Int) {
        qProj = Linear(dim, dim); kProj = Linear(dim, dim); vProj = Linear(dim, dim); outProj = Linear(dim, dim)
        self.heads = heads
    }

    /// `out_proj(attention(x)) + residual`, `x` and `residual` `[B, n, hidden]`.
    func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        func split(_ t: Tensor) -> Tensor { t.reshaped(b, n, heads, d / heads).permuted(0, 2, 1, 3) }
        let out = Attention.scaledDotProduct(query: split(qProj(x)), key: split(kProj(x)), value: split(vProj(x)), causal: true)
        return outProj(out.permuted(0, 2, 1, 3).reshaped(b, n, d), activation: nil, adding: residual)
    }

    /// `out_proj(attention(x))` as separate ops, on `Variable`s (training) or `Tensor`s; `x` `[B, n, hidden]`.
    func callAsFunction<T: TensorValue>(_ x: T) -> T {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        func split(_ t: T) -> T { t.reshaped(b, n, heads, d / heads).permuted(0, 2, 1, 3) }
        let out = T.scaledDotProductAttention(query: split(qProj(x)), key: split(kProj(x)), value: split(vProj(x)),
                                              scale: nil, causal: true, mask: nil)
        return outProj(out.permuted(0, 2, 1, 3).reshaped(b, n, d))
    }
}

/// `fc2(act(fc1(x)))`, the activation applied by fc1 as it writes its output.
public final class CLIPMLP: Module {
    public let fc1: Linear
    public let fc2: Linear
    let activation: CLIPTextConfig.Activation

    init(_ c: CLIPTextConfig) {
        fc1 = Linear(c.hiddenSize, c.intermediateSize)
        fc2 = Linear(c.intermediateSize, c.hiddenSize)
        activation = c.activation
    }

    /// `fc2(act(fc1(x))) + residual`, `x` and `residual` `[B, n, hidden]`.
    func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor {
        fc2(fc1(x, activation: activation.fused), activation: nil, adding: residual)
    }

    /// `fc2(act(fc1(x)))` as separate ops, on `Variable`s (training) or `Tensor`s.
    func callAsFunction<T: TensorValue>(_ x: T) -> T {
        fc2(activation.apply(fc1(x)))
    }
}

public final class CLIPEmbeddings: Module {
    public let tokenEmbedding: Embedding
    public let positionEmbedding: Embedding

    init(_ c: CLIPTextConfig) {
        tokenEmbedding = Embedding(c.vocabSize, c.hiddenSize)
        positionEmbedding = Embedding(c.maxPositions, c.hiddenSize)
    }
}

public final class CLIPEncoder: Module {
    public let layers: [CLIPEncoderLayer]
    init(_ c: CLIPTextConfig) { layers = (0 ..< c.layers).map { _ in CLIPEncoderLayer(c) } }
}

public final class CLIPTextTransformer: Module {
    public let embeddings: CLIPEmbeddings
    public let encoder: CLIPEncoder
    public let finalLayerNorm: LayerNorm

    init(_ c: CLIPTextConfig) {
        embeddings = CLIPEmbeddings(c)
        encoder = CLIPEncoder(c)
        finalLayerNorm = LayerNorm(c.hiddenSize, epsilon: c.layerNormEps)
    }
}

/// transformers' `CLIPTextModel`: token ids → `last_hidden_state` (what Stable Diffusion's UNet
/// cross-attends to). Checkpoint keys start with `text_model.`.
public final class CLIPTextModel: Module {
    public let config: CLIPTextConfig
    public let textModel: CLIPTextTransformer

    public init(config: CLIPTextConfig) {
        self.config = config
        textModel = CLIPTextTransformer(config)
    }

    /// Buffers some checkpoints carry that are not parameters.
    public static let ignoredKeys = ["text_model.embeddings.position_ids"]

    /// transformers ≥ 5.6 saves the text tower without the `text_model.` prefix; this sees such a
    /// checkpoint under the prefixed names (and returns other sources unchanged).
    public static func normalizedWeights(_ source: WeightSource) -> WeightSource {
        let names = source.tensorNames
        if names.contains(where: { $0.hasPrefix("text_model.") }) { return source }
        return RenamedWeights(source, names: Dictionary(uniqueKeysWithValues: names.map { ("text_model." + $0, $0) }))
    }

    /// `ids`: one row of token ids per prompt (all the same length ≤ maxPositions) → `[B, n, hidden]`.
    ///
    /// - Parameter extraTokenRows: `[k, hidden]` rows standing for ids `vocabSize ..< vocabSize + k`
    ///   (textual-inversion vectors), read in place of the token-embedding table for those ids; the
    ///   table itself is not changed.
    public func callAsFunction(_ ids: [[Int]], extraTokenRows: Tensor? = nil) -> Tensor {
        var h = textModel.embedded(ids, config: config, extraTokenRows: extraTokenRows)
        for layer in textModel.encoder.layers { h = layer(h) }
        return textModel.finalLayerNorm(h)
    }
}

extension CLIPTextTransformer {
    /// Token plus position embeddings of `ids` `[B, n, hidden]` (the encoder's input; see
    /// `CLIPTextModel.callAsFunction` for `extraTokenRows`).
    func embedded(_ ids: [[Int]], config: CLIPTextConfig, extraTokenRows: Tensor?) -> Tensor {
        let n = ids.first?.count ?? 0
        precondition(ids.allSatisfy { $0.count == n } && n <= config.maxPositions, "CLIPTextModel: \(ids.map(\.count)) tokens per prompt")
        let flat = ids.flatMap { $0 }
        let vocabulary = config.vocabSize, width = config.hiddenSize
        let tokens = embeddings.tokenEmbedding(flat.map { $0 < vocabulary ? $0 : 0 }).reshaped(ids.count, n, width)
        if let extraTokenRows {
            precondition(extraTokenRows.rank == 2 && extraTokenRows.shape[1] == width, "CLIPTextModel: extra token rows \(extraTokenRows.shape) for width \(width)")
            let rows = extraTokenRows.contiguous()
            for (position, id) in flat.enumerated() where id >= vocabulary {
                precondition(id - vocabulary < rows.shape[0], "CLIPTextModel: id \(id) beyond the \(rows.shape[0]) extra rows")
                (tokens.pointer + position * width).update(from: rows.pointer + (id - vocabulary) * width, count: width)
            }
        }
        let positions = embeddings.positionEmbedding(Array(0 ..< n)).unsqueezed(0)
        return tokens + positions
    }

    /// transformers' `output_hidden_states`: the encoder's input, then the output of each layer
    /// (`layers + 1` tensors `[B, n, hidden]`, none layer-normed), and the last one after the
    /// final layer norm (`last_hidden_state`).
    func hiddenStates(_ ids: [[Int]], config: CLIPTextConfig, extraTokenRows: Tensor?) -> (all: [Tensor], last: Tensor) {
        var states = [embedded(ids, config: config, extraTokenRows: extraTokenRows)]
        for layer in encoder.layers { states.append(layer(states.last!)) }
        return (states, finalLayerNorm(states.last!))
    }
}

extension CLIPTextModel {
    /// The hidden states of `ids` (`CLIPTextTransformer.hiddenStates`): `all[i]` after i layers,
    /// `last` the final layer-normed output.
    public func hiddenStates(_ ids: [[Int]], extraTokenRows: Tensor? = nil) -> (all: [Tensor], last: Tensor) {
        textModel.hiddenStates(ids, config: config, extraTokenRows: extraTokenRows)
    }

    /// The same `last_hidden_state` `[B, n, hidden]` computed op by op on `type` — `Variable`
    /// for training (LoRA adapters on the attention and MLP layers get gradients; the
    /// model's own weights are read as constants unless they have leaves) — without the fused
    /// epilogues and packed weights of the `Tensor` path (equal to it within float32 rounding).
    public func callAsFunction<T: TensorValue>(_ ids: [[Int]], as type: T.Type) -> T {
        let n = ids.first?.count ?? 0
        precondition(ids.allSatisfy { $0.count == n } && n <= config.maxPositions, "CLIPTextModel: \(ids.map(\.count)) tokens per prompt")
        precondition(ids.allSatisfy { $0.allSatisfy { $0 < config.vocabSize } }, "CLIPTextModel: a token id beyond the vocabulary")
        let tokens = textModel.embeddings.tokenEmbedding(ids.flatMap { $0 }, as: T.self).reshaped(ids.count, n, config.hiddenSize)
        let positions = textModel.embeddings.positionEmbedding(Array(0 ..< n), as: T.self).unsqueezed(0)
        var h = tokens + positions
        for layer in textModel.encoder.layers { h = layer(h) }
        return textModel.finalLayerNorm(h)
    }
}
