import DiffusePipelines
import DiffuseTensor

/// Token dropout: with probability `probability`, a non-empty caption is trained with the empty
/// prompt's token states in place of its own, but with its own pooled sentence embedding (as the
/// appended pooled token and/or the class embedding). The model then has to learn to draw from
/// the sentence embedding alone — the part of the encoding where a paraphrase ("a kitty") lies
/// near its caption ("cat face") even when their token states differ.
public enum TokenDropout {
    /// `conditioning` with the dropped rows' first `tokens.shape[1] − keepingLast` token states
    /// replaced by `empty`'s (the encoding of ""; one row). `keepingLast` is 1 when the pooled
    /// embedding is appended as the last token, 0 otherwise. Draws one uniform number per
    /// non-empty caption; empty captions (caption dropout) are left as they are.
    /// - Returns: the new encoding and the indices of the rows that were dropped.
    public static func apply(to conditioning: PromptEmbedding, empty: PromptEmbedding, captions: [String], probability: Double,
                             keepingLast: Int, random: inout TrainingRandom) -> (PromptEmbedding, dropped: [Int]) {
        let shape = conditioning.tokens.shape
        precondition(shape.count == 3 && shape[0] == captions.count, "TokenDropout: token states \(shape) for \(captions.count) captions")
        precondition(empty.tokens.shape == [1, shape[1], shape[2]], "TokenDropout: empty prompt states \(empty.tokens.shape), prompts \(shape)")
        precondition((0 ..< shape[1]).contains(keepingLast), "TokenDropout: keepingLast \(keepingLast) of \(shape[1]) tokens")
        var dropped: [Int] = []
        for (row, caption) in captions.enumerated() where !caption.isEmpty && random.uniform() < probability {
            dropped.append(row)
        }
        guard !dropped.isEmpty else { return (conditioning, []) }
        // A copy: the states may be shared with the prompt cache.
        let tokens = Tensor(uninitializedShape: shape)
        tokens.pointer.update(from: conditioning.tokens.contiguous().pointer, count: tokens.count)
        let source = empty.tokens.contiguous()
        let count = (shape[1] - keepingLast) * shape[2], rowSize = shape[1] * shape[2]
        for row in dropped {
            (tokens.pointer + row * rowSize).update(from: source.pointer, count: count)
        }
        return (PromptEmbedding(tokens: tokens, pooled: conditioning.pooled), dropped)
    }
}
