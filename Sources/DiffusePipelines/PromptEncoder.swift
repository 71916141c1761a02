import DiffuseModels
import DiffuseTensor

/// Turns prompts into the token states a UNet cross-attends to.
public protocol PromptEncoder: AnyObject {
    /// Token states `[B, N, D]` for `prompts` (N fixed for a given encoder, D = `dimension`).
    func encode(_ prompts: [String]) -> Tensor
    /// D, the width of each token state (the UNet's `cross_attention_dim`).
    var dimension: Int { get }
    /// A short name for messages ("CLIP", "all-MiniLM-L6-v2" …).
    var kind: String { get }
}

/// Stable Diffusion's text encoder: CLIP's BPE tokenizer (77 ids, padded) and text transformer.
public final class CLIPPromptEncoder: PromptEncoder {
    public let tokenizer: CLIPTokenizer
    public let model: CLIPTextModel

    public init(tokenizer: CLIPTokenizer, model: CLIPTextModel) {
        self.tokenizer = tokenizer
        self.model = model
    }

    /// `[B, 77, hidden]`: the last hidden state after the final layer norm.
    public func encode(_ prompts: [String]) -> Tensor { model(prompts.map { tokenizer.encode($0) }) }

    public var dimension: Int { model.config.hiddenSize }
    public var kind: String { "CLIP" }
}

/// A sentence-transformers BERT encoder (all-MiniLM-L6-v2) used as a text encoder: every prompt
/// becomes exactly `length` token states (`[CLS]`, its tokens, `[SEP]`, `[PAD]`…), so that
/// training and generation see the same shapes. The UNet attends to all of them, as Stable
/// Diffusion's UNet attends to CLIP's padded 77.
public final class SentencePromptEncoder: PromptEncoder {
    public let encoder: SentenceEncoder
    public let length: Int

    public init(encoder: SentenceEncoder, length: Int) {
        precondition(length >= 2, "SentencePromptEncoder: length \(length) < 2")
        self.encoder = encoder
        self.length = length
    }

    /// `[B, length, 384]` token states.
    public func encode(_ prompts: [String]) -> Tensor { encoder.encode(prompts, length: length).tokens }

    public var dimension: Int { encoder.dimension }
    public var kind: String { "sentence encoder (BERT)" }
}
