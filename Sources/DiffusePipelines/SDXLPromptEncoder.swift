import DiffuseModels
import DiffuseTensor

/// SDXL's two text encoders as diffusers' `StableDiffusionXLPipeline.encode_prompt` runs them:
/// each prompt is tokenized by both tokenizers (each padding as its folder says: the second with
/// `!`), the token states are the penultimate hidden states of `textEncoder` (CLIP ViT-L) and of
/// `textEncoder2` (OpenCLIP ViT-bigG) concatenated along the width (768 + 1280 = 2048 for SDXL),
/// and the pooled `addedTextEmbeds` are `textEncoder2`'s projection of its end token. A refiner
/// has the second encoder only. Prompts are read as plain text in every syntax.
public final class SDXLPromptEncoder: PromptEncoder {
    /// The first tokenizer and text encoder; nil for a refiner.
    public let first: (tokenizer: CLIPTokenizer, model: CLIPTextModel)?
    public let tokenizer2: CLIPTokenizer
    public let textEncoder2: CLIPTextModelWithProjection
    /// `force_zeros_for_empty_prompt`: an empty negative prompt's token states and text embeds are
    /// zeros instead of the encoded empty text.
    public let forceZerosForEmptyPrompt: Bool

    /// The text models' linear layers run on packed weights (`Linear.packsWeights`).
    public init(first: (tokenizer: CLIPTokenizer, model: CLIPTextModel)?, tokenizer2: CLIPTokenizer,
                textEncoder2: CLIPTextModelWithProjection, forceZerosForEmptyPrompt: Bool) {
        self.first = first
        self.tokenizer2 = tokenizer2
        self.textEncoder2 = textEncoder2
        self.forceZerosForEmptyPrompt = forceZerosForEmptyPrompt
        first?.model.packLinearWeights()
        textEncoder2.packLinearWeights()
    }

    /// `[B, 77, dimension]` token states and `[B, projectionDim]` text embeds (`addedTextEmbeds`).
    public func encode(_ prompts: [String]) -> PromptEmbedding {
        var parts: [Tensor] = []
        if let first {
            let states = first.model.hiddenStates(prompts.map { first.tokenizer.encode($0) }).all
            parts.append(states[states.count - 2])
        }
        let (states, textEmbeds) = textEncoder2(prompts.map { tokenizer2.encode($0) })
        parts.append(states[states.count - 2])
        let tokens = parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 2)
        return PromptEmbedding(tokens: tokens, pooled: nil, addedTextEmbeds: textEmbeds)
    }

    /// Plain reading in every syntax; an empty `negativePrompt` gives zeros when
    /// `forceZerosForEmptyPrompt` (diffusers zeroes a negative prompt it was not given).
    public func encodePair(prompt: String, negativePrompt: String?, syntax: PromptSyntax) throws
        -> (conditional: PromptEmbedding, unconditional: PromptEmbedding?) {
        let conditional = encode([prompt])
        guard let negativePrompt else { return (conditional, nil) }
        if negativePrompt.isEmpty && forceZerosForEmptyPrompt {
            return (conditional, PromptEmbedding(tokens: Tensor.zeros(conditional.tokens.shape), pooled: nil,
                                                 addedTextEmbeds: Tensor.zeros(conditional.addedTextEmbeds!.shape)))
        }
        return (conditional, encode([negativePrompt]))
    }

    /// The token states' width: the first encoder's hidden size (if any) plus the second's.
    public var dimension: Int { (first?.model.config.hiddenSize ?? 0) + textEncoder2.config.hiddenSize }
    /// None in the sense of `PromptEncoder` (a class-embedding input): the text embeds travel as
    /// `Conditioning.addedTextEmbeds`.
    public var pooledDimension: Int? { nil }
    /// The width of the text embeds (`projection_dim` of the second encoder).
    public var textEmbedsDimension: Int { textEncoder2.projectionDim }
    public var kind: String { first == nil ? "OpenCLIP (SDXL refiner)" : "CLIP + OpenCLIP (SDXL)" }
}
