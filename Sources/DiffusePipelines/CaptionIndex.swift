import DiffuseFormats
import DiffuseTensor
import Foundation

/// The captions a model was trained on, with their sentence embeddings, so that a prompt in other
/// words can be matched to the caption it means before generating ("a slice of pizza" → "pizza").
///
/// For a model with a closed vocabulary — the bundled emoji model draws the 3,695 emoji it was
/// trained on and nothing else — the sentence encoder recognises a paraphrase far better than the
/// UNet's cross-attention does (all-MiniLM-L6-v2 puts the right caption first for 68% of the
/// paraphrase list and among the first five for 94%). A model folder that holds
/// `caption_index.safetensors` has its prompts matched (`GenerationRequest.matchCaption`, on by
/// default; `diffuse generate --no-caption-matching` turns it off).
///
/// File: one tensor `embeddings` `[N, P]` (float16, unit rows: the text encoder's pooled
/// embeddings) and the captions as a JSON array in the metadata key `captions`.
public struct CaptionIndex: Sendable {
    /// The file name inside a model folder.
    public static let fileName = "caption_index.safetensors"

    public let captions: [String]
    /// `[N, P]`, unit-length rows, row i for `captions[i]`.
    public let embeddings: Tensor
    private let captionSet: Set<String>

    public init(captions: [String], embeddings: Tensor) {
        precondition(embeddings.rank == 2 && embeddings.shape[0] == captions.count,
                     "CaptionIndex: \(captions.count) captions for embeddings \(embeddings.shape)")
        self.captions = captions
        captionSet = Set(captions)
        self.embeddings = Self.unitRows(embeddings)
    }

    /// The pooled embeddings of `captions` (duplicates dropped, order kept), by `encoder` in
    /// batches of 64. Nil when the encoder gives no pooled embedding (CLIP here).
    public static func build(captions: [String], encoder: any PromptEncoder) -> CaptionIndex? {
        guard encoder.pooledDimension != nil else { return nil }
        var seen = Set<String>()
        let unique = captions.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { return nil }
        var parts: [Tensor] = []
        for start in stride(from: 0, to: unique.count, by: 64) {
            let batch = Array(unique[start ..< Swift.min(start + 64, unique.count)])
            guard let pooled = encoder.encode(batch).pooled else { return nil }
            parts.append(pooled)
        }
        return CaptionIndex(captions: unique, embeddings: Tensor.concatenate(parts, axis: 0))
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
        self.init(captions: captions, embeddings: Tensor(shape: info.shape, try file.floats("embeddings")))
    }

    /// Writes the index (embeddings as float16: cosines change by < 1e-3), atomically.
    public func write(to url: URL) throws {
        let json = String(decoding: try JSONEncoder().encode(captions), as: UTF8.self)
        let entry = SafeTensorsWriter.Entry(name: "embeddings", shape: embeddings.shape, floats: embeddings.scalars,
                                            format: .float16)
        try FileIO.writeAtomically(try SafeTensorsWriter.serialize([entry], metadata: ["captions": json], name: url.path),
                                   to: url)
    }

    /// Whether `text` is one of the captions, exactly.
    public func contains(_ text: String) -> Bool { captionSet.contains(text) }

    /// The caption whose embedding is nearest (largest cosine) to `pooled` (`[P]` or `[1, P]`),
    /// and that cosine.
    public func nearest(to pooled: Tensor) -> (caption: String, similarity: Float) {
        let p = embeddings.shape[1]
        precondition(pooled.count == p, "CaptionIndex: a \(pooled.count)-wide embedding for a \(p)-wide index")
        let query = Self.unitRows(pooled.contiguous().reshaped([1, p]))
        let scores = embeddings.matmul(query.transposed(0, 1)).scalars
        var best = 0
        for i in scores.indices where scores[i] > scores[best] { best = i }
        return (captions[best], scores[best])
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
