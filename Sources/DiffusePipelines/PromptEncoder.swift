import DiffuseModels
import DiffuseTensor

/// Turns prompts into what a UNet is conditioned on: token states to cross-attend to and, for
/// sentence encoders, a pooled embedding.
public protocol PromptEncoder: AnyObject {
    /// Token states `[B, N, D]` (N fixed for a given encoder, D = `dimension`) and, when
    /// `pooledDimension` is set, pooled embeddings `[B, pooledDimension]` for `prompts`.
    func encode(_ prompts: [String]) -> PromptEmbedding
    /// D, the width of each token state (the UNet's `cross_attention_dim`).
    var dimension: Int { get }
    /// The width of the pooled embedding; nil when the encoder gives none.
    var pooledDimension: Int? { get }
    /// A short name for messages ("CLIP", "all-MiniLM-L6-v2" …).
    var kind: String { get }
    /// Unit-length sentence embeddings `[B, pooledDimension]` of whole texts, for comparing
    /// meanings (`CaptionIndex`): unlike `encode(_:).pooled`, not cut to the UNet's prompt
    /// length. Nil when the encoder gives no pooled embedding.
    func sentenceEmbeddings(_ texts: [String]) -> Tensor?
    /// What one request is conditioned on: `prompt`'s embedding and, when `negativePrompt` is
    /// given, the negative prompt's, `[1, N, D]` each with the same N, `prompt` read in `syntax`.
    /// - Throws: `PipelineError` naming `prompt` or `negativePrompt` when the text cannot be read.
    func encodePair(prompt: String, negativePrompt: String?, syntax: PromptSyntax) throws
        -> (conditional: PromptEmbedding, unconditional: PromptEmbedding?)
}

extension PromptEncoder {
    /// The pooled embedding of `encode(_:)`.
    public func sentenceEmbeddings(_ texts: [String]) -> Tensor? { encode(texts).pooled }

    /// `encode(_:)` of each text as written, whatever `syntax` says: an encoder other than CLIP has
    /// no A1111 reading.
    public func encodePair(prompt: String, negativePrompt: String?, syntax: PromptSyntax) throws
        -> (conditional: PromptEmbedding, unconditional: PromptEmbedding?) {
        (encode([prompt]), negativePrompt.map { encode([$0]) })
    }
}

/// Stable Diffusion's text encoder: CLIP's BPE tokenizer (77 ids, padded) and text transformer.
public final class CLIPPromptEncoder: PromptEncoder {
    public let tokenizer: CLIPTokenizer
    public let model: CLIPTextModel
    /// Textual-inversion embeddings the prompts may use (`useEmbeddings`); nil = none.
    public internal(set) var embeddings: TextualInversionTable?

    /// The text model's linear layers run on packed weights (`Linear.packsWeights`): its
    /// weights stay fixed while it encodes prompts.
    public init(tokenizer: CLIPTokenizer, model: CLIPTextModel) {
        self.tokenizer = tokenizer
        self.model = model
        model.packLinearWeights()
    }

    /// `[B, 77, hidden]`: the last hidden state after the final layer norm (no pooled embedding:
    /// Stable Diffusion's UNet does not take one).
    public func encode(_ prompts: [String]) -> PromptEmbedding {
        PromptEmbedding(tokens: model(prompts.map { tokenizer.encode($0) }), pooled: nil)
    }

    public var dimension: Int { model.config.hiddenSize }
    public var pooledDimension: Int? { nil }
    public var kind: String { "CLIP" }
}

/// A sentence-transformers BERT encoder (all-MiniLM-L6-v2) used as a text encoder: every prompt
/// becomes exactly `length` token states (`[CLS]`, its tokens, `[SEP]`, `[PAD]`…), so that
/// training and generation see the same shapes. The UNet attends to all of them, as Stable
/// Diffusion's UNet attends to CLIP's padded 77.
public final class SentencePromptEncoder: PromptEncoder {
    public let encoder: SentenceEncoder
    public let length: Int
    /// The prompt reaches the UNet only through the pooled embedding: the token states are the
    /// empty prompt's for every prompt (a model whose image is a function of the sentence
    /// embedding, so that paraphrases land near their captions).
    public let pooledOnly: Bool
    /// The sentence embedding is also one more token state, after the `length` token states, so
    /// the UNet's cross-attention can attend to it (a paraphrase's sentence embedding lies near
    /// its caption's even where its token states do not).
    public let pooledToken: Bool
    /// The empty prompt's token states `[1, length, D]` (computed once, when `pooledOnly`).
    private let emptyTokens: Tensor?

    public init(encoder: SentenceEncoder, length: Int, pooledOnly: Bool = false, pooledToken: Bool = false) {
        precondition(length >= 2, "SentencePromptEncoder: length \(length) < 2")
        self.encoder = encoder
        self.length = length
        self.pooledOnly = pooledOnly
        self.pooledToken = pooledToken
        emptyTokens = pooledOnly ? encoder.encode([""], length: length).tokens : nil
    }

    /// `[B, length, 384]` token states (`[B, length + 1, 384]` with `pooledToken`, the sentence
    /// embedding last) and the `[B, 384]` sentence embeddings (mean of the text's token states,
    /// unit length: what sentence-transformers' `encode` returns).
    public func encode(_ prompts: [String]) -> PromptEmbedding {
        let out = encoder.encode(prompts, length: length)
        var tokens = emptyTokens?.repeatingRows(prompts.count) ?? out.tokens
        if pooledToken {
            tokens = Tensor.concatenate([tokens, out.pooled.reshaped([prompts.count, 1, encoder.dimension])], axis: 1)
        }
        return PromptEmbedding(tokens: tokens, pooled: out.pooled)
    }

    /// The sentence embeddings of the texts cut at the encoder's own `maxLength` (256 tokens for
    /// all-MiniLM-L6-v2), not at `length`.
    public func sentenceEmbeddings(_ texts: [String]) -> Tensor? { encoder.encode(texts).pooled }

    /// The token states per prompt: `length`, plus one with `pooledToken`.
    public var tokenCount: Int { length + (pooledToken ? 1 : 0) }

    public var dimension: Int { encoder.dimension }
    public var pooledDimension: Int? { encoder.dimension }
    public var kind: String { "sentence encoder (BERT)" }
}
