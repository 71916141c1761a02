import DiffuseAutograd
import DiffuseData
import DiffuseModels
import DiffuseTensor
import DiffuseFormats
import DiffusePipelines
import Foundation

/// Measures a text-to-image model against the captioned images it was trained on, with an
/// `ImageClassifier` trained on those images (`ClassifierTraining`):
///
/// - **Prompt adherence**: for each prompt one image is generated and classified; top-1 / top-5 =
///   how often the class of the image the prompt names scores first / in the first five. Run on
///   training captions and on paraphrases of them (texts the model never saw).
/// - **Fréchet distance** between generated and real images in the classifier's feature space
///   (its `featureWidth`-wide penultimate layer) — FID's formula with this classifier in place of
///   Inception, for comparing samplers, step counts and runs.
public final class ModelEvaluation {
    public let pipeline: DiffusionPipeline
    public let dataset: ImageCaptionDataset
    public let classifier: ImageClassifier
    /// Classifier features of every real image.
    private var realFeatures: [[Double]] = []

    public struct Settings: Sendable {
        public var sampler: String? = nil
        public var steps = 20
        public var guidance: Float = 4
        /// Match prompts to training captions when the model has a caption index.
        public var matchCaption = true
        /// How prompts are read (`GenerationRequest.promptSyntax`).
        public var promptSyntax = PromptSyntax.plain
        public init() {}
    }

    public struct Retrieval: Sendable {
        public var prompts: Int
        public var top1: Double
        public var top5: Double
        /// Seconds per generated image.
        public var secondsPerImage: Double
        /// (prompt, target caption, rank of the target (1 = best), the class the image got) per prompt.
        public var ranks: [(prompt: String, target: String, rank: Int, predicted: String)]
    }

    /// - Throws: `DatasetError` for an unreadable image, `TrainingError` when the classifier was
    ///   trained on other images (other labels or size).
    public init(pipeline: DiffusionPipeline, dataset: ImageCaptionDataset, classifier: ImageClassifier) throws {
        guard classifier.config.labels == dataset.entries.map(\.caption) else {
            throw TrainingError("the classifier's \(classifier.config.classes) labels are not the captions of \(dataset.directory.path) (\(dataset.count) images): train it on this dataset")
        }
        guard classifier.config.imageSize == dataset.size else {
            throw TrainingError("the classifier takes \(classifier.config.imageSize)² images but the model makes \(dataset.size)²")
        }
        self.pipeline = pipeline
        self.dataset = dataset
        self.classifier = classifier
        let images = try (0 ..< dataset.count).map { try dataset.item(at: $0).pixels }
        realFeatures = features(images)
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
        var ranks: [(String, String, Int, String)] = []
        var images: [PNGImage] = []
        let start = Date()
        for (i, item) in prompts.enumerated() {
            let image = try generate(item.prompt, seed: UInt64(i), settings: settings)
            images.append(image)
            let pixels = try ImageTensors.tensor(from: image)
            let scores = Autograd.withoutRecording { classifier(pixels) }.scalars
            let rank = ImageClassifier.rank(of: item.target, in: scores[...])
            let best = scores.indices.max { scores[$0] < scores[$1] } ?? 0
            ranks.append((item.prompt, dataset.entries[item.target].caption, rank, dataset.entries[best].caption))
            progress?(i + 1, prompts.count)
        }
        let n = Double(Swift.max(prompts.count, 1))
        return (Retrieval(prompts: prompts.count, top1: Double(ranks.filter { $0.2 == 1 }.count) / n,
                          top5: Double(ranks.filter { $0.2 <= 5 }.count) / n,
                          secondsPerImage: Date().timeIntervalSince(start) / n,
                          ranks: ranks.map { (prompt: $0.0, target: $0.1, rank: $0.2, predicted: $0.3) }), images)
    }

    /// Fréchet distance between `images` and all real images, in the classifier's feature space.
    public func frechetDistance(_ images: [PNGImage]) throws -> Double {
        FrechetDistance.between(features(try images.map { try ImageTensors.tensor(from: $0).scalars }), realFeatures)
    }

    /// Classifier features of channel-major images in [-1, 1].
    private func features(_ images: [[Float]]) -> [[Double]] {
        let size = dataset.size, width = classifier.config.featureWidth
        var out: [[Double]] = []
        Autograd.withoutRecording {
            for start in stride(from: 0, to: images.count, by: 256) {
                let end = Swift.min(start + 256, images.count)
                let f = classifier.features(Tensor(shape: [end - start, 3, size, size], Array(images[start ..< end].joined()))).scalars
                for r in 0 ..< end - start { out.append(f[r * width ..< (r + 1) * width].map(Double.init)) }
            }
        }
        return out
    }

    public func generate(_ prompt: String, seed: UInt64, settings: Settings) throws -> PNGImage {
        var request = GenerationRequest(prompt: prompt)
        request.sampler = settings.sampler
        request.steps = settings.steps
        request.guidance = settings.guidance
        request.seed = seed
        request.matchCaption = settings.matchCaption
        request.promptSyntax = settings.promptSyntax
        request.width = dataset.size
        request.height = dataset.size
        return try pipeline.generate(request)[0]
    }
}
