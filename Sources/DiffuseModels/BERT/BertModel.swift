import DiffuseFormats
import DiffuseNN
import DiffuseTensor
import Foundation

/// Word, position and token type embeddings, summed and normalized (transformers' `BertEmbeddings`).
/// Checkpoint keys: `word_embeddings.weight`, `position_embeddings.weight`,
/// `token_type_embeddings.weight`, `LayerNorm.weight`, `LayerNorm.bias`.
public final class BertEmbeddings: Module {
    public static let keyOverrides = ["layerNorm": "LayerNorm"]
    public let wordEmbeddings: Embedding
    public let positionEmbeddings: Embedding
    public let tokenTypeEmbeddings: Embedding
    public let layerNorm: LayerNorm

    init(_ c: BertConfig) {
        wordEmbeddings = Embedding(c.vocabSize, c.hiddenSize)
        positionEmbeddings = Embedding(c.maxPositions, c.hiddenSize)
        tokenTypeEmbeddings = Embedding(c.typeVocabSize, c.hiddenSize)
        layerNorm = LayerNorm(c.hiddenSize, epsilon: c.layerNormEps)
    }
}

/// Multi-head self-attention projections (`query`, `key`, `value`, all with biases).
public final class BertSelfAttention: Module {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    let heads: Int

    init(_ c: BertConfig) {
        query = Linear(c.hiddenSize, c.hiddenSize)
        key = Linear(c.hiddenSize, c.hiddenSize)
        value = Linear(c.hiddenSize, c.hiddenSize)
        heads = c.heads
    }

    /// `[B, N, D]` → `[B, N, D]`; `mask` is additive, broadcastable to `[B, heads, N, N]`.
    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        func split(_ t: Tensor) -> Tensor { t.reshaped(b, n, heads, d / heads).permuted(0, 2, 1, 3) }
        let out = Attention.scaledDotProduct(query: split(query(x)), key: split(key(x)), value: split(value(x)), mask: mask)
        return out.permuted(0, 2, 1, 3).reshaped(b, n, d)
    }
}

/// The attention output projection and the residual LayerNorm after it (`dense`, `LayerNorm`).
public final class BertSelfOutput: Module {
    public static let keyOverrides = ["layerNorm": "LayerNorm"]
    public let dense: Linear
    public let layerNorm: LayerNorm

    init(_ c: BertConfig) {
        dense = Linear(c.hiddenSize, c.hiddenSize)
        layerNorm = LayerNorm(c.hiddenSize, epsilon: c.layerNormEps)
    }
}

/// `attention.self` and `attention.output`.
public final class BertAttention: Module {
    public static let keyOverrides = ["selfAttention": "self"]
    public let selfAttention: BertSelfAttention
    public let output: BertSelfOutput

    init(_ c: BertConfig) {
        selfAttention = BertSelfAttention(c)
        output = BertSelfOutput(c)
    }

    /// Post-norm: `LayerNorm(dense(attention(x)) + x)` (the residual added by `dense` as it writes).
    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        output.layerNorm(output.dense(selfAttention(x, mask: mask), activation: nil, adding: x))
    }
}

/// The feed-forward expansion (`dense`, hidden → intermediate) and its activation.
public final class BertIntermediate: Module {
    public let dense: Linear
    let activation: FusedActivation

    init(_ c: BertConfig) {
        dense = Linear(c.hiddenSize, c.intermediateSize)
        activation = c.activation.fused
    }

    /// `act(dense(x))`, the activation applied by `dense` as it writes its output.
    func callAsFunction(_ x: Tensor) -> Tensor {
        dense(x, activation: activation)
    }
}

/// The feed-forward projection back to the hidden size and the residual LayerNorm after it.
public final class BertOutput: Module {
    public static let keyOverrides = ["layerNorm": "LayerNorm"]
    public let dense: Linear
    public let layerNorm: LayerNorm

    init(_ c: BertConfig) {
        dense = Linear(c.intermediateSize, c.hiddenSize)
        layerNorm = LayerNorm(c.hiddenSize, epsilon: c.layerNormEps)
    }
}

/// One post-norm encoder layer: attention (+ residual, LayerNorm), feed-forward (+ residual, LayerNorm).
public final class BertLayer: Module {
    public let attention: BertAttention
    public let intermediate: BertIntermediate
    public let output: BertOutput

    init(_ c: BertConfig) {
        attention = BertAttention(c)
        intermediate = BertIntermediate(c)
        output = BertOutput(c)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let h = attention(x, mask: mask)
        return output.layerNorm(output.dense(intermediate(h), activation: nil, adding: h))
    }
}

/// The stack of layers (checkpoint keys `layer.0.…`, `layer.1.…`).
public final class BertEncoder: Module {
    public static let keyOverrides = ["layers": "layer"]
    public let layers: [BertLayer]
    init(_ c: BertConfig) { layers = (0 ..< c.layers).map { _ in BertLayer(c) } }
}

/// transformers' `BertModel` without its pooler: token ids → `last_hidden_state`, the token states
/// that sentence-transformers pools (all-MiniLM-L6-v2 is such a model with 6 layers of width 384).
///
/// Checkpoint keys as sentence-transformers saves them: `embeddings.…` and `encoder.layer.N.…`.
/// Use `normalizedWeights` for checkpoints whose keys start with `bert.` (`BertForMaskedLM` and the
/// other task models) and `ignoredKeys` for the buffers and the pooler this model does not use.
public final class BertModel: Module {
    public let config: BertConfig
    public let embeddings: BertEmbeddings
    public let encoder: BertEncoder

    /// A model with uninitialized weights: load them before use.
    public init(config: BertConfig) {
        self.config = config
        embeddings = BertEmbeddings(config)
        encoder = BertEncoder(config)
    }

    /// Checkpoint entries that are not parameters of this model: buffers (`position_ids`,
    /// `token_type_ids`) and the unused pooler (`pooler.dense`). Suffixes, for `load(from:ignoring:)`.
    public static let ignoredKeys = ["embeddings.position_ids", "embeddings.token_type_ids",
                                     "pooler.dense.weight", "pooler.dense.bias"]

    /// A checkpoint of a BERT task model (`BertForMaskedLM`, `BertForSequenceClassification`, …)
    /// keeps the encoder under `bert.`; this sees only those tensors, without the prefix. Other
    /// sources are returned unchanged.
    public static func normalizedWeights(_ source: WeightSource) -> WeightSource {
        let names = source.tensorNames
        guard names.contains(where: { $0.hasPrefix("bert.embeddings.") }) else { return source }
        let prefixed = names.filter { $0.hasPrefix("bert.") }
        return RenamedWeights(source, names: Dictionary(uniqueKeysWithValues: prefixed.map { (String($0.dropFirst(5)), $0) }))
    }

    /// Reads `config.json` and `model.safetensors` from a transformers / sentence-transformers folder.
    ///
    /// - Throws: `ModelConfigError` for an unusable configuration, a safetensors error for an
    ///   unreadable file, `WeightLoadingError` for missing, mis-shaped or unexpected tensors.
    public static func load(directory: URL, precision: WeightPrecision = .float32) throws -> BertModel {
        let config = try BertConfig(ModelConfig(contentsOf: directory.appendingPathComponent("config.json")))
        let model = BertModel(config: config)
        let weights = try SafeTensorsWeights(directory.appendingPathComponent("model.safetensors"))
        try model.load(from: normalizedWeights(weights), ignoring: ignoredKeys, precision: precision)
        return model
    }

    /// The additive attention mask for `attentionMask` (rows of 1 for tokens, 0 for padding):
    /// `[B, 1, 1, N]`, 0 where a key is seen and −∞ where it is padding; it broadcasts over heads and
    /// queries in `Attention.scaledDotProduct`.
    public static func additiveMask(_ attentionMask: [[Int]]) -> Tensor {
        let b = attentionMask.count, n = attentionMask.first?.count ?? 0
        precondition(attentionMask.allSatisfy { $0.count == n }, "BertModel: mask rows of lengths \(attentionMask.map(\.count))")
        let values = attentionMask.flatMap { row in row.map { $0 == 0 ? -Float.infinity : 0 } }
        return Tensor(shape: [b, 1, 1, n], values)
    }

    /// The last hidden state `[B, N, hiddenSize]`.
    ///
    /// - Parameters:
    ///   - ids: one row of token ids per text (at least one row), all of the same length
    ///     1 ≤ N ≤ `maxPositions` (pad shorter texts, with `[PAD]` for example).
    ///   - attentionMask: rows like `ids`, 1 for a token and 0 for padding; padding is hidden from
    ///     every query by an additive −∞ on its keys. nil: every token is seen. Padding positions
    ///     still get states (computed from the tokens they see, as in transformers); a row with no
    ///     1 at all gets attention outputs of 0.
    ///   - tokenTypeIDs: segment ids, rows like `ids`; nil: all 0 (one segment, as sentence encoders use).
    public func callAsFunction(ids: [[Int]], attentionMask: [[Int]]? = nil, tokenTypeIDs: [[Int]]? = nil) -> Tensor {
        let b = ids.count, n = ids.first?.count ?? 0, d = config.hiddenSize
        precondition(b > 0 && n > 0, "BertModel: no ids (\(b) rows of \(n))")
        precondition(ids.allSatisfy { $0.count == n }, "BertModel: rows of \(ids.map(\.count)) ids; pad them to one length")
        precondition(n <= config.maxPositions, "BertModel: \(n) tokens, at most \(config.maxPositions)")
        if let attentionMask {
            precondition(attentionMask.count == b && attentionMask.allSatisfy { $0.count == n },
                         "BertModel: attention mask rows \(attentionMask.map(\.count)) for \(b) rows of \(n) ids")
        }
        let words = embeddings.wordEmbeddings(ids.flatMap { $0 }).reshaped(b, n, d)
        let positions = embeddings.positionEmbeddings(Array(0 ..< n)).unsqueezed(0)
        let types: Tensor
        if let tokenTypeIDs {
            precondition(tokenTypeIDs.count == b && tokenTypeIDs.allSatisfy { $0.count == n },
                         "BertModel: token type rows \(tokenTypeIDs.map(\.count)) for \(b) rows of \(n) ids")
            types = embeddings.tokenTypeEmbeddings(tokenTypeIDs.flatMap { $0 }).reshaped(b, n, d)
        } else {
            types = embeddings.tokenTypeEmbeddings([0]).reshaped(1, 1, d)
        }
        var h = embeddings.layerNorm(words + positions + types)
        // A mask of only 1s changes nothing: skip it (the attention kernel is faster without one).
        let mask = attentionMask.flatMap { rows in rows.allSatisfy { $0.allSatisfy { $0 != 0 } } ? nil : Self.additiveMask(rows) }
        for layer in encoder.layers { h = layer(h, mask: mask) }
        return h
    }
}
