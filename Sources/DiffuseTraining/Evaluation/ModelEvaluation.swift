import DiffuseData
import DiffuseFormats
import DiffusePipelines
import Foundation

/// Measures a text-to-image model against the captioned images it was trained on:
///
/// - **Retrieval accuracy** (a 1-nearest-neighbour classifier over the real images): for each
///   prompt, one image is generated and every real image is ranked by its distance to it
///   (L2 between 16×16 area-averaged RGB); top-1 / top-5 = how often the image the prompt names
///   ranks first / in the first five. Run on the training captions and on paraphrases of them
///   (texts the model never saw).
/// - **Fréchet distance** between generated and real images, on 4×4 area-averaged RGB (48
///   features) — the FID formula on a small, model-free feature, for comparing samplers and runs.
public final class ModelEvaluation {
    public let pipeline: StableDiffusion
    public let dataset: ImageCaptionDataset
    /// Retrieval features of every real image.
    private var realRetrieval: [[Float]] = []
    private var realFrechet: [[Double]] = []

    public struct Settings: Sendable {
        public var sampler: String? = nil
        public var steps = 20
        public var guidance: Float = 4
        public init() {}
    }

    public struct Retrieval: Sendable {
        public var prompts: Int
        public var top1: Double
        public var top5: Double
        /// Seconds per generated image.
        public var secondsPerImage: Double
        /// (prompt, target caption, rank of the target (1 = best)) per prompt.
        public var ranks: [(prompt: String, target: String, rank: Int)]
    }

    /// - Throws: `DatasetError` for an unreadable image.
    public init(pipeline: StableDiffusion, dataset: ImageCaptionDataset) throws {
        self.pipeline = pipeline
        self.dataset = dataset
        for i in 0 ..< dataset.count {
            let item = try dataset.item(at: i)
            realRetrieval.append(Self.pooled(item.pixels, size: dataset.size, to: 16))
            realFrechet.append(Self.pooled(item.pixels, size: dataset.size, to: 4).map(Double.init))
        }
    }

    /// Indices of `count` training captions spread evenly over the dataset.
    public func spreadIndices(_ count: Int) -> [Int] {
        let n = Swift.min(count, dataset.count)
        return (0 ..< n).map { $0 * dataset.count / n }
    }

    /// The dataset index whose caption is `caption` (exact), if any.
    public func index(ofCaption caption: String) -> Int? { dataset.entries.firstIndex { $0.caption == caption } }

    /// Generates one image per (prompt, target index) with seed = its position, and ranks the target.
    public func retrieval(_ prompts: [(prompt: String, target: Int)], settings: Settings,
                          progress: ((Int, Int) -> Void)? = nil) throws -> (Retrieval, [PNGImage]) {
        var ranks: [(String, String, Int)] = []
        var images: [PNGImage] = []
        let start = Date()
        for (i, item) in prompts.enumerated() {
            let image = try generate(item.prompt, seed: UInt64(i), settings: settings)
            images.append(image)
            let features = Self.pooled(try Self.floats(image), size: dataset.size, to: 16)
            let distances = realRetrieval.map { Self.squaredDistance($0, features) }
            let target = distances[item.target]
            let rank = 1 + distances.enumerated().filter { $0.offset != item.target && $0.element < target }.count
            ranks.append((item.prompt, dataset.entries[item.target].caption, rank))
            progress?(i + 1, prompts.count)
        }
        let n = Double(Swift.max(prompts.count, 1))
        return (Retrieval(prompts: prompts.count, top1: Double(ranks.filter { $0.2 == 1 }.count) / n,
                          top5: Double(ranks.filter { $0.2 <= 5 }.count) / n,
                          secondsPerImage: Date().timeIntervalSince(start) / n,
                          ranks: ranks.map { (prompt: $0.0, target: $0.1, rank: $0.2) }), images)
    }

    /// Fréchet distance between `images` and all real images.
    public func frechetDistance(_ images: [PNGImage]) throws -> Double {
        let generated = try images.map { Self.pooled(try Self.floats($0), size: dataset.size, to: 4).map(Double.init) }
        return FrechetDistance.between(generated, realFrechet)
    }

    public func generate(_ prompt: String, seed: UInt64, settings: Settings) throws -> PNGImage {
        var request = GenerationRequest(prompt: prompt)
        request.sampler = settings.sampler
        request.steps = settings.steps
        request.guidance = settings.guidance
        request.seed = seed
        request.width = dataset.size
        request.height = dataset.size
        return try pipeline.generate(request)[0]
    }

    /// RGB image → channel-major floats in [-1, 1].
    static func floats(_ image: PNGImage) throws -> [Float] {
        let rgb = try image.converted(toChannels: 3, background: 255)
        let plane = rgb.width * rgb.height
        var out = [Float](repeating: 0, count: 3 * plane)
        for p in 0 ..< plane { for c in 0 ..< 3 { out[c * plane + p] = Float(rgb.pixels[p * 3 + c]) / 127.5 - 1 } }
        return out
    }

    /// Channel-major `[3, size, size]` → `[3, side, side]` by area averaging (size divisible by side).
    static func pooled(_ pixels: [Float], size: Int, to side: Int) -> [Float] {
        let f = size / side
        var out = [Float](repeating: 0, count: 3 * side * side)
        for c in 0 ..< 3 {
            for y in 0 ..< size {
                for x in 0 ..< size { out[(c * side + y / f) * side + x / f] += pixels[(c * size + y) * size + x] }
            }
        }
        let scale = 1 / Float(f * f)
        return out.map { $0 * scale }
    }

    static func squaredDistance(_ a: [Float], _ b: [Float]) -> Float {
        var s: Float = 0
        for i in 0 ..< a.count { let d = a[i] - b[i]; s += d * d }
        return s
    }
}
