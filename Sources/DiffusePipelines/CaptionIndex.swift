import DiffuseFormats
import DiffuseTensor
import Foundation

/// The captions a model was trained on, with their sentence embeddings, so that a prompt in other
/// words can be matched to the caption it means before generating ("a slice of pizza" → "pizza").
///
/// For a model with a closed vocabulary — the bundled emoji model draws the 3,695 emoji it was
/// trained on and nothing else — the sentence encoder recognises a paraphrase far better than the
/// UNet's cross-attention does. A model folder that holds `caption_index.safetensors` has its
/// prompts matched (`GenerationRequest.matchCaption`, on by default; `diffuse generate
/// --no-caption-matching` turns it off).
///
/// Each caption may also carry a description: the caption followed by its keywords ("red apple:
/// apple, fruit, red"), whose embedding adds what the bare name lacks. A caption's score for a
/// prompt is cos(prompt, caption) + `descriptionWeight` × cos(prompt, description). On the
/// emoji captions with CLDR's keywords this put the right caption first for 38 of the 50
/// paraphrases of `configs/emoji-paraphrases.tsv` (34 with the captions alone) and for 43 of
/// the 50 held-out ones of `configs/emoji-paraphrases-heldout.tsv` (39).
///
/// File: tensor `embeddings` `[N, P]` (float16, unit rows: the captions' sentence embeddings),
/// optionally `descriptions` `[N, P]` (the descriptions'), and the captions as a JSON array in
/// the metadata key `captions`.
public struct CaptionIndex: Sendable {
    /// The file name inside a model folder.
    public static let fileName = "caption_index.safetensors"
    /// The weight of a description's cosine in a caption's score (the caption's own has 1).
    public static let descriptionWeight: Float = 0.5

    public let captions: [String]
    /// `[N, P]`, unit-length rows, row i for `captions[i]`.
    public let embeddings: Tensor
    /// `[N, P]`, unit-length rows, row i for the description of `captions[i]`; nil for an index
    /// of bare captions.
    public let descriptions: Tensor?
    private let captionSet: Set<String>

    public init(captions: [String], embeddings: Tensor, descriptions: Tensor? = nil) {
        precondition(embeddings.rank == 2 && embeddings.shape[0] == captions.count,
                     "CaptionIndex: \(captions.count) captions for embeddings \(embeddings.shape)")
        precondition(descriptions == nil || descriptions!.shape == embeddings.shape,
                     "CaptionIndex: descriptions \(descriptions!.shape) for embeddings \(embeddings.shape)")
        self.captions = captions
        captionSet = Set(captions)
        self.embeddings = Self.unitRows(embeddings)
        self.descriptions = descriptions.map(Self.unitRows)
    }

    /// "caption: keyword, keyword, …", or the bare caption when it has no keywords.
    public static func description(caption: String, keywords: [String]) -> String {
        keywords.isEmpty ? caption : caption + ": " + keywords.joined(separator: ", ")
    }

    /// The sentence embeddings (`PromptEncoder.sentenceEmbeddings`) of `captions` (duplicates
    /// dropped, order kept) and, when `keywords` is given (one list per caption), of their
    /// descriptions, by `encoder` in batches of 64. Nil when the encoder gives no pooled
    /// embedding (CLIP here).
    public static func build(captions: [String], keywords: [[String]]? = nil, encoder: any PromptEncoder) -> CaptionIndex? {
        precondition(keywords == nil || keywords!.count == captions.count,
                     "CaptionIndex: \(keywords!.count) keyword lists for \(captions.count) captions")
        guard encoder.pooledDimension != nil else { return nil }
        var seen = Set<String>()
        let kept = captions.indices.filter { seen.insert(captions[$0]).inserted }
        guard !kept.isEmpty else { return nil }
        let unique = kept.map { captions[$0] }
        guard let embeddings = embed(unique, encoder: encoder) else { return nil }
        var descriptions: Tensor? = nil
        if let keywords {
            guard let described = embed(kept.map { description(caption: captions[$0], keywords: keywords[$0]) },
                                        encoder: encoder) else { return nil }
            descriptions = described
        }
        return CaptionIndex(captions: unique, embeddings: embeddings, descriptions: descriptions)
    }

    private static func embed(_ texts: [String], encoder: any PromptEncoder) -> Tensor? {
        var parts: [Tensor] = []
        for start in stride(from: 0, to: texts.count, by: 64) {
            guard let part = encoder.sentenceEmbeddings(Array(texts[start ..< Swift.min(start + 64, texts.count)])) else {
                return nil
            }
            parts.append(part)
        }
        return Tensor.concatenate(parts, axis: 0)
    }

    /// Reads an index file.
    /// - Throws: `SafeTensorsError` for a malformed file, `PipelineError` naming the file when the
    ///   captions are missing or do not match the embeddings.
    public init(contentsOf url: URL) throws {
        let file = try SafeTensorsFile(url: url)
        guard let text = file.metadata["captions"], let data = text.data(using: .utf8),
              let captions = try? JSONDecoder().decode([String].self, from: data) else {
            throw PipelineError("\(url.path): no \"captions\" JSON array in its metadata")
        }
        let info = try file.info("embeddings")
        guard info.shape.count == 2, info.shape[0] == captions.count, info.shape[1] > 0 else {
            throw PipelineError("\(url.path): embeddings \(info.shape) for \(captions.count) captions")
        }
        var descriptions: Tensor? = nil
        if file.contains("descriptions") {
            let described = try file.info("descriptions")
            guard described.shape == info.shape else {
                throw PipelineError("\(url.path): descriptions \(described.shape) for embeddings \(info.shape)")
            }
            descriptions = Tensor(shape: described.shape, try file.floats("descriptions"))
        }
        self.init(captions: captions, embeddings: Tensor(shape: info.shape, try file.floats("embeddings")),
                  descriptions: descriptions)
    }

    /// Writes the index (embeddings as float16: cosines change by < 1e-3), atomically.
    public func write(to url: URL) throws {
        let json = String(decoding: try JSONEncoder().encode(captions), as: UTF8.self)
        var entries = [SafeTensorsWriter.Entry(name: "embeddings", shape: embeddings.shape, floats: embeddings.scalars,
                                               format: .float16)]
        if let descriptions {
            entries.append(.init(name: "descriptions", shape: descriptions.shape, floats: descriptions.scalars, format: .float16))
        }
        try FileIO.writeAtomically(try SafeTensorsWriter.serialize(entries, metadata: ["captions": json], name: url.path),
                                   to: url)
    }

    /// Whether `text` is one of the captions, exactly.
    public func contains(_ text: String) -> Bool { captionSet.contains(text) }

    /// The caption with the best score (see the type's description) for the sentence embedding
    /// `pooled` (`[P]` or `[1, P]`), and its own cosine with `pooled`.
    public func nearest(to pooled: Tensor) -> (caption: String, similarity: Float) {
        let p = embeddings.shape[1]
        precondition(pooled.count == p, "CaptionIndex: a \(pooled.count)-wide embedding for a \(p)-wide index")
        let query = Self.unitRows(pooled.contiguous().reshaped([1, p])).transposed(0, 1)
        let cosines = embeddings.matmul(query).scalars
        var scores = cosines
        if let descriptions {
            let described = descriptions.matmul(query).scalars
            for i in scores.indices { scores[i] += Self.descriptionWeight * described[i] }
        }
        var best = 0
        for i in scores.indices where scores[i] > scores[best] { best = i }
        return (captions[best], cosines[best])
    }

    private static func unitRows(_ x: Tensor) -> Tensor {
        let (n, p) = (x.shape[0], x.shape[1])
        var values = x.contiguous().scalars
        for i in 0 ..< n {
            var sum: Float = 0
            for j in 0 ..< p { sum += values[i * p + j] * values[i * p + j] }
            let scale = sum > 0 ? 1 / sum.squareRoot() : 0
            for j in 0 ..< p { values[i * p + j] *= scale }
        }
        return Tensor(shape: [n, p], values)
    }
}
