import DiffuseFormats
import DiffuseNN
import DiffuseTensor
import Foundation

/// What `SentenceEncoder` gives for a batch of texts.
public struct SentenceEncoding: Sendable {
    /// The token ids of each text: `[CLS]` … `[SEP]`, then `[PAD]` up to the batch's length N.
    public var ids: [[Int]]
    /// Rows like `ids`: 1 for a token of the text, 0 for padding.
    public var attentionMask: [[Int]]
    /// The last hidden state `[B, N, hidden]`. Padding positions hold what the model computes for
    /// them (as transformers does); `mask` tells them apart.
    public var tokens: Tensor
    /// `attentionMask` as floats `[B, N]`: 1 for a token, 0 for padding.
    public var mask: Tensor
    /// The sentence embeddings `[B, hidden]`: token states averaged over each text's tokens
    /// (padding left out), then scaled to unit length.
    public var pooled: Tensor

    /// The number of tokens of each text, `[CLS]` and `[SEP]` included.
    public var lengths: [Int] { attentionMask.map { $0.reduce(0, +) } }

    /// The additive attention mask `[B, 1, 1, N]` (0 for tokens, −∞ for padding) for attending to
    /// `tokens` with `Attention.scaledDotProduct`.
    public var additiveMask: Tensor { BertModel.additiveMask(attentionMask) }
}

/// A sentence-transformers BERT encoder such as all-MiniLM-L6-v2: WordPiece tokenizer, `BertModel`,
/// mean pooling over the tokens and L2 normalization; `pooled` is what
/// `SentenceTransformer("all-MiniLM-L6-v2").encode(texts)` returns.
///
/// Loaded from a folder like the one tools/fetch_minilm.sh writes: `config.json`,
/// `model.safetensors`, `vocab.txt`, and when present `tokenizer_config.json` (`do_lower_case`),
/// `sentence_bert_config.json` (`max_seq_length`) and `1_Pooling/config.json` (which must ask for
/// mean pooling).
public final class SentenceEncoder {
    /// Splits texts into ids; its `maxLength` is `maxLength`.
    public let tokenizer: WordPieceTokenizer
    /// The transformer.
    public let model: BertModel
    /// The most tokens per text, `[CLS]` and `[SEP]` included; longer texts are cut (256 for
    /// all-MiniLM-L6-v2, its `max_seq_length`).
    public let maxLength: Int
    /// The id that pads short texts in a batch (`[PAD]`).
    public let padTokenID: Int

    /// The width of token states and sentence embeddings (384 for all-MiniLM-L6-v2).
    public var dimension: Int { model.config.hiddenSize }

    /// sentence-transformers' `max_seq_length` when the folder does not say (all-MiniLM-L6-v2's).
    public static let defaultMaxLength = 256

    /// Combines a tokenizer and a loaded model. The model's linear layers run on packed weights
    /// (`Linear.packsWeights`, with their activations and residual adds fused): its weights stay
    /// fixed while it encodes.
    ///
    /// - Throws: `ModelConfigError` when the tokenizer has no `[PAD]`, its vocabulary does not fit
    ///   the model's embedding table, or its `maxLength` exceeds the model's positions.
    public init(tokenizer: WordPieceTokenizer, model: BertModel) throws {
        guard let pad = tokenizer.padTokenID else {
            throw ModelConfigError(source: "vocab.txt", key: nil, problem: "has no [PAD] token to pad batches with")
        }
        guard tokenizer.vocabularySize <= model.config.vocabSize else {
            throw ModelConfigError(source: "vocab.txt", key: nil,
                                   problem: "has \(tokenizer.vocabularySize) tokens for an embedding table of \(model.config.vocabSize)")
        }
        guard tokenizer.maxLength <= model.config.maxPositions else {
            throw ModelConfigError(source: "tokenizer", key: nil,
                                   problem: "maxLength \(tokenizer.maxLength) exceeds the model's \(model.config.maxPositions) positions")
        }
        self.tokenizer = tokenizer
        self.model = model
        model.packLinearWeights()
        self.maxLength = tokenizer.maxLength
        self.padTokenID = pad
    }

    /// Loads a sentence-transformers folder (see the type's description).
    ///
    /// - Parameter maxLength: the most tokens per text; nil: `max_seq_length` from
    ///   `sentence_bert_config.json`, else `defaultMaxLength` (at most the model's positions).
    /// - Throws: `ModelConfigError` for an unusable configuration or pooling other than mean,
    ///   `TokenizerError` for a bad `vocab.txt`, and the errors of `BertModel.load(directory:)`.
    public convenience init(directory: URL, maxLength: Int? = nil, precision: WeightPrecision = .float32) throws {
        func optionalConfig(_ name: String) throws -> ModelConfig? {
            let url = directory.appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: url.path) ? try ModelConfig(contentsOf: url) : nil
        }
        if let pooling = try optionalConfig("1_Pooling/config.json") {
            try pooling.require("pooling_mode_mean_tokens", equals: true, feature: "pooling other than the mean of the tokens")
            for mode in ["pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                         "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"] {
                try pooling.require(mode, equals: false, feature: "\(mode)")
            }
        }
        let lowercase = try optionalConfig("tokenizer_config.json")?.bool("do_lower_case", default: true) ?? true
        let model = try BertModel.load(directory: directory, precision: precision)
        let configured = try optionalConfig("sentence_bert_config.json")?.int("max_seq_length", default: Self.defaultMaxLength)
        let length = min(maxLength ?? configured ?? Self.defaultMaxLength, model.config.maxPositions)
        let tokenizer = try WordPieceTokenizer(vocabulary: directory.appendingPathComponent("vocab.txt"),
                                               lowercase: lowercase, maxLength: length)
        try self.init(tokenizer: tokenizer, model: model)
    }

    /// Encodes `texts`, each cut to `maxLength` tokens, padded to the longest of them.
    /// An empty list gives tensors with B = 0 and N = 0.
    public func encode(_ texts: [String]) -> SentenceEncoding {
        encode(ids: texts.map { tokenizer.encode($0) })
    }

    /// Encodes `texts` into exactly `length` tokens each: `[CLS]`, the text's first `length − 2`
    /// tokens, `[SEP]`, then `[PAD]` (transformers' `padding="max_length", truncation=True`).
    /// Token states, mask and pooled embedding are those of the cut text.
    ///
    /// - Parameter length: from 2 to the model's `maxPositions` (512); may exceed `maxLength`.
    public func encode(_ texts: [String], length: Int) -> SentenceEncoding {
        precondition(length >= 2 && length <= model.config.maxPositions,
                     "SentenceEncoder: length \(length) outside 2...\(model.config.maxPositions)")
        let ids = texts.map { text in
            [tokenizer.classifierTokenID] + tokenizer.tokenIDs(text).prefix(length - 2) + [tokenizer.separatorTokenID]
        }
        return encode(ids: ids, length: length)
    }

    /// Runs the model on rows of token ids (each with its `[CLS]` and `[SEP]`), padded with `[PAD]` to
    /// `length` (nil: the longest row).
    public func encode(ids rows: [[Int]], length: Int? = nil) -> SentenceEncoding {
        let n = length ?? rows.map(\.count).max() ?? 0
        precondition(rows.allSatisfy { $0.count <= n }, "SentenceEncoder: rows of \(rows.map(\.count)) ids for length \(n)")
        let ids = rows.map { $0 + Array(repeating: padTokenID, count: n - $0.count) }
        let attentionMask = rows.map { Array(repeating: 1, count: $0.count) + Array(repeating: 0, count: n - $0.count) }
        let b = rows.count, d = dimension
        let mask = Tensor(shape: [b, n], attentionMask.flatMap { $0.map(Float.init) })
        guard b > 0, n > 0 else {
            return SentenceEncoding(ids: ids, attentionMask: attentionMask, tokens: Tensor.zeros([b, n, d]), mask: mask,
                                    pooled: Tensor.zeros([b, d]))
        }
        let tokens = model(ids: ids, attentionMask: attentionMask).contiguous()
        let pooled = Self.meanPooledNormalized(tokens, mask: attentionMask)
        return SentenceEncoding(ids: ids, attentionMask: attentionMask, tokens: tokens, mask: mask, pooled: pooled)
    }

    /// sentence-transformers' `Pooling(mean)` then `Normalize`: for each row, the sum of the token
    /// states whose mask is 1 divided by max(count, 1e-9), then divided by max(‖·‖₂, 1e-12).
    /// `tokens` `[B, N, D]` → `[B, D]`.
    public static func meanPooledNormalized(_ tokens: Tensor, mask: [[Int]]) -> Tensor {
        precondition(tokens.rank == 3 && mask.count == tokens.shape[0] && mask.allSatisfy { $0.count == tokens.shape[1] },
                     "meanPooledNormalized: tokens \(tokens.shape), mask rows \(mask.map(\.count))")
        let (b, n, d) = (tokens.shape[0], tokens.shape[1], tokens.shape[2])
        let x = tokens.contiguous()
        let out = Tensor.zeros([b, d])
        for row in 0 ..< b {
            let sum = out.pointer + row * d
            var count: Float = 0
            for position in 0 ..< n where mask[row][position] != 0 {
                let src = x.pointer + (row * n + position) * d
                for i in 0 ..< d { sum[i] += src[i] }
                count += 1
            }
            let inverseCount = 1 / max(count, 1e-9)
            var squares: Float = 0
            for i in 0 ..< d {
                sum[i] *= inverseCount
                squares += sum[i] * sum[i]
            }
            let inverseNorm = 1 / max(squares.squareRoot(), 1e-12)
            for i in 0 ..< d { sum[i] *= inverseNorm }
        }
        return out
    }
}
