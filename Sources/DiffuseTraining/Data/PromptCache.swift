import DiffusePipelines
import DiffuseTensor

/// Token states (and pooled embeddings) of captions, computed once per distinct caption with the
/// frozen text encoder (the encoder is not trained, so its output for a caption never changes).
public final class PromptCache {
    public let encoder: any PromptEncoder
    private var states: [String: PromptEmbedding] = [:]
    /// The most captions kept (older ones are recomputed when needed again).
    public let limit: Int

    public init(encoder: any PromptEncoder, limit: Int = 100_000) {
        self.encoder = encoder
        self.limit = limit
    }

    /// Encodes and stores every caption in `captions` not seen yet, 64 at a time. `progress` is
    /// called after each batch with the captions done and the total; returning false stops early.
    /// - Returns: whether every caption was encoded (false when `progress` stopped it).
    @discardableResult
    public func warm(_ captions: [String], progress: (Int, Int) -> Bool = { _, _ in true }) -> Bool {
        var pending: [String] = []
        var seen = Set(states.keys)
        for caption in captions where !seen.contains(caption) {
            seen.insert(caption)
            pending.append(caption)
        }
        var done = 0
        for start in stride(from: 0, to: pending.count, by: 64) {
            let chunk = Array(pending[start ..< Swift.min(start + 64, pending.count)])
            store(chunk, encoder.encode(chunk))
            done += chunk.count
            if !progress(done, pending.count) { return false }
        }
        return true
    }

    /// The encoder's output for `captions`: token states `[B, N, D]` (and pooled `[B, P]`).
    public func states(for captions: [String]) -> PromptEmbedding {
        let missing = Array(Set(captions.filter { states[$0] == nil }))
        if !missing.isEmpty { store(missing, encoder.encode(missing)) }
        return .concatenate(captions.map { caption in states[caption] ?? encoder.encode([caption]) })
    }

    private func store(_ captions: [String], _ encoded: PromptEmbedding) {
        if states.count + captions.count > limit { states.removeAll(keepingCapacity: true) }
        for (i, caption) in captions.enumerated() { states[caption] = encoded.row(i) }
    }
}
