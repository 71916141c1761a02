import DiffuseModels
import DiffuseTensor

/// What a UNet is conditioned on, one row per batch entry: the value a model family's encoders
/// produce and the denoising loop hands to the `NoisePredictor`. A family that conditions its UNet
/// on something else adds it here as an optional field, batched like the others
/// (`concatenate`, `repeatingRows`, `row`).
public struct Conditioning {
    /// Token states `[B, N, D]` the UNet cross-attends to.
    public var tokens: Tensor
    /// One vector per prompt `[B, P]` — a sentence encoder's pooled, unit-length embedding — for
    /// UNets with a projection class embedding; nil when the encoder gives none.
    public var pooled: Tensor?
    /// The guidance scale as an embedding `[B, D]` (diffusers' `timestep_cond`:
    /// `Tensor.guidanceScaleEmbedding`) for UNets that take guidance that way (LCM-distilled
    /// ones); nil otherwise. Set by `GuidanceStrategy.embedded`.
    public var guidanceEmbedding: Tensor?
    /// The pooled text embedding `[B, P]` that SDXL-style ("text_time") UNets add to the time
    /// embedding with the time ids (diffusers' `added_cond_kwargs["text_embeds"]`: the second text
    /// encoder's projection of its end token); nil for other UNets.
    public var addedTextEmbeds: Tensor?
    /// The micro-conditioning time ids `[B, k]` of "text_time" UNets (diffusers'
    /// `added_cond_kwargs["time_ids"]`, `MicroConditioning`): original size (h, w), crop (top,
    /// left) and target size (h, w), or an aesthetic score in place of the target size; nil otherwise.
    public var addedTimeIDs: Tensor?

    public init(tokens: Tensor, pooled: Tensor?, guidanceEmbedding: Tensor? = nil, addedTextEmbeds: Tensor? = nil,
                addedTimeIDs: Tensor? = nil) {
        for (name, part) in [("pooled", pooled), ("guidance embedding", guidanceEmbedding), ("text embeds", addedTextEmbeds),
                             ("time ids", addedTimeIDs)] {
            if let part {
                precondition(part.shape[0] == tokens.shape[0], "Conditioning: \(tokens.shape[0]) token rows but \(part.shape[0]) \(name) rows")
            }
        }
        self.tokens = tokens
        self.pooled = pooled
        self.guidanceEmbedding = guidanceEmbedding
        self.addedTextEmbeds = addedTextEmbeds
        self.addedTimeIDs = addedTimeIDs
    }

    /// Each optional part of `parts` concatenated along the batch (nil when the first part has none).
    private static func joined(_ parts: [Conditioning], _ part: (Conditioning) -> Tensor?) -> Tensor? {
        guard part(parts[0]) != nil else { return nil }
        return Tensor.concatenate(parts.map { part($0)! }, axis: 0)
    }

    /// The batch size B.
    public var count: Int { tokens.shape[0] }

    /// The conditionings of several batches, one after the other.
    public static func concatenate(_ parts: [Conditioning]) -> Conditioning {
        precondition(!parts.isEmpty, "Conditioning.concatenate: no parts")
        return Conditioning(tokens: Tensor.concatenate(parts.map(\.tokens), axis: 0), pooled: joined(parts, \.pooled),
                            guidanceEmbedding: joined(parts, \.guidanceEmbedding), addedTextEmbeds: joined(parts, \.addedTextEmbeds),
                            addedTimeIDs: joined(parts, \.addedTimeIDs))
    }

    /// Each prompt's rows repeated `times` times in place (prompt 0 × times, prompt 1 × times …),
    /// as diffusers repeats embeddings for `num_images_per_prompt`.
    public func repeatingRows(_ times: Int) -> Conditioning {
        Conditioning(tokens: tokens.repeatingRows(times), pooled: pooled?.repeatingRows(times),
                     guidanceEmbedding: guidanceEmbedding?.repeatingRows(times), addedTextEmbeds: addedTextEmbeds?.repeatingRows(times),
                     addedTimeIDs: addedTimeIDs?.repeatingRows(times))
    }

    /// Row `index` alone (`[1, …]`).
    public func row(_ index: Int) -> Conditioning {
        func row(_ x: Tensor?) -> Tensor? { x?.narrowed(axis: 0, start: index, length: 1).contiguous() }
        return Conditioning(tokens: row(tokens)!, pooled: row(pooled), guidanceEmbedding: row(guidanceEmbedding),
                            addedTextEmbeds: row(addedTextEmbeds), addedTimeIDs: row(addedTimeIDs))
    }
}

extension Tensor {
    /// Each row along axis 0 repeated `times` times in place: `[a, b]` → `[a, a, b, b]` for 2.
    public func repeatingRows(_ times: Int) -> Tensor {
        precondition(times >= 1, "repeatingRows: \(times) < 1")
        if times == 1 { return self }
        var parts: [Tensor] = []
        for i in 0 ..< shape[0] {
            parts += Array(repeating: narrowed(axis: 0, start: i, length: 1), count: times)
        }
        return Tensor.concatenate(parts, axis: 0)
    }
}

/// What a text encoder gives for a batch of prompts: token states and, for sentence encoders, a
/// pooled embedding.
public typealias PromptEmbedding = Conditioning
