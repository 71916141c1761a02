import DiffuseModels
import DiffuseTensor

/// Prompt syntaxes and textual inversion for Stable Diffusion's CLIP encoder.
extension CLIPPromptEncoder {
    /// Makes `embeddings` usable in prompts from now on (an empty list removes them). The text
    /// model's weights are not touched.
    /// - Throws: `TextualInversionError` naming the file and key whose width differs from the
    ///   text encoder's, or that has more vectors than a chunk holds.
    public func useEmbeddings(_ embeddings: [TextualInversion]) throws {
        for embedding in embeddings where embedding.count > A1111PromptChunker.chunkLength {
            throw TextualInversionError("\(embedding.source): key \(embedding.key) has \(embedding.count) vectors; at most \(A1111PromptChunker.chunkLength) fit in a prompt")
        }
        self.embeddings = embeddings.isEmpty ? nil
            : try TextualInversionTable(embeddings, tokenizer: tokenizer, vocabularySize: model.config.vocabSize, width: model.config.hiddenSize)
    }

    /// `plain`: diffusers' encoding (start, at most 75 tokens, end, padding: 77 ids), textual-
    /// inversion words replaced by their vectors. `a1111`: `a1111Embedding`; a `<kind:…>` tag is
    /// taken out of the prompt (A1111 leaves the negative prompt's text as written), and the
    /// shorter of the two embeddings is padded with the empty prompt's 77 states until they are
    /// as long (A1111's "Pad prompt/negative prompt" option, `pad_cond_uncond`).
    public func encodePair(prompt: String, negativePrompt: String?, syntax: PromptSyntax) throws
        -> (conditional: PromptEmbedding, unconditional: PromptEmbedding?) {
        switch syntax {
        case .plain:
            // One text per call, as `encode(_:)` is called for each: the same floats as before.
            func embedding(_ text: String) -> PromptEmbedding {
                PromptEmbedding(tokens: model([plainIDs(text)], extraTokenRows: embeddings?.extraRows), pooled: nil)
            }
            return (embedding(prompt), negativePrompt.map(embedding))
        case .a1111:
            var conditional = try a1111Embedding(PromptAdapterTag.extract(from: prompt).text, parameter: .prompt)
            guard let negativePrompt else { return (PromptEmbedding(tokens: conditional, pooled: nil), nil) }
            var unconditional = try a1111Embedding(negativePrompt, parameter: .negativePrompt)
            let (n, m) = (conditional.shape[1], unconditional.shape[1])
            if n != m {
                let empty = try a1111Embedding("", parameter: .prompt)
                func padded(_ x: Tensor, by chunks: Int) -> Tensor {
                    Tensor.concatenate([x] + Array(repeating: empty, count: chunks), axis: 1)
                }
                if n < m { conditional = padded(conditional, by: (m - n) / empty.shape[1]) }
                else { unconditional = padded(unconditional, by: (n - m) / empty.shape[1]) }
            }
            return (PromptEmbedding(tokens: conditional, pooled: nil), PromptEmbedding(tokens: unconditional, pooled: nil))
        }
    }

    /// The 77 ids diffusers gives `text` (`CLIPTokenizer.encode`), textual-inversion words expanded
    /// before the cut.
    public func plainIDs(_ text: String) -> [Int] {
        guard let embeddings else { return tokenizer.encode(text) }
        let tokens = embeddings.expanding(tokenizer.tokenIDs(text)).prefix(tokenizer.maxLength - 2)
        let ids = [tokenizer.startTokenID] + tokens + [tokenizer.endTokenID]
        return ids + Array(repeating: tokenizer.padTokenID, count: tokenizer.maxLength - ids.count)
    }

    /// How many of `text`'s tokens the plain syntax cuts off (0 when it fits in 75).
    public func droppedTokenCount(_ text: String) -> Int {
        let tokens = tokenizer.tokenIDs(text)
        return max(0, (embeddings?.expanding(tokens) ?? tokens).count - (tokenizer.maxLength - 2))
    }

    /// The A1111 chunks of `text` (no extra-network tags are taken out here).
    /// - Throws: `PromptSyntaxError` when an emphasis weight is not a number.
    public func a1111Chunks(_ text: String) throws -> A1111PromptChunks {
        let comma = tokenizer.tokenIDs(",")
        let chunker = A1111PromptChunker(startID: tokenizer.startTokenID, endID: tokenizer.endTokenID, padID: tokenizer.padTokenID,
                                         commaID: comma.count == 1 ? comma[0] : nil, embeddings: embeddings,
                                         tokenize: { [tokenizer] in tokenizer.tokenIDs($0) })
        return chunker.chunks(try A1111PromptParser.parse(text))
    }

    /// `[1, 77·k, hidden]`: `text`'s k chunks, each encoded on its own with `A1111Emphasis.original`
    /// applied, concatenated along the tokens.
    func a1111Embedding(_ text: String, parameter: GenerationRequest.Parameter) throws -> Tensor {
        let chunks: A1111PromptChunks
        do { chunks = try a1111Chunks(text) } catch let error as PromptSyntaxError {
            throw PipelineError(error.description, parameter: parameter)
        }
        let states = model(chunks.ids, extraTokenRows: embeddings?.extraRows)
        let parts = chunks.multipliers.enumerated().map { i, multipliers in
            A1111Emphasis.original(states.narrowed(axis: 0, start: i, length: 1).contiguous(), multipliers: multipliers)
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 1)
    }
}
