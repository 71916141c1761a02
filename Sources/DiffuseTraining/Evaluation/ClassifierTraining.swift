import DiffuseAutograd
import DiffuseData
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation

/// Trains an `ImageClassifier` to tell the images of a captioned dataset apart (class i = image i),
/// on augmented copies so that it also recognises imperfect renderings of them — what a
/// generative model makes: shifted by up to `maxShift` pixels (white fill), brightness and
/// contrast changed, Gaussian noise of a random strength up to `maxNoise`, and sometimes blurred.
/// AdamW with warm-up and cosine decay; cross-entropy loss. Deterministic for a seed.
public enum ClassifierTraining {
    public struct Settings: Sendable {
        public var steps = 2000
        public var batchSize = 128
        public var learningRate = 2e-3
        public var warmupSteps = 100
        public var weightDecay: Float = 1e-4
        public var seed: UInt64 = 0
        /// Largest shift in pixels, each direction.
        public var maxShift = 2
        /// Largest standard deviation of the added noise (images are in [-1, 1]).
        public var maxNoise: Float = 0.3
        /// Probability of a 3×3 box blur.
        public var blurProbability = 0.25
        public init() {}
    }

    /// How well the trained classifier recognises the dataset's images.
    public struct Report: Sendable {
        /// Top-1 accuracy on the images as they are.
        public var cleanTop1: Double
        /// Top-1 / top-5 accuracy on one augmented copy of each image (a fixed seed).
        public var augmentedTop1: Double
        public var augmentedTop5: Double
        public var seconds: Double
    }

    /// Trains a classifier for every image of `dataset` (labels: their captions).
    ///
    /// - Parameter progress: called after each step with (step, total, loss); return false to stop early.
    /// - Throws: `DatasetError` for an unreadable image.
    public static func train(dataset: ImageCaptionDataset, channels: [Int] = [32, 64, 128, 256], featureWidth: Int = 128,
                             inputPool: Int = 1, settings: Settings,
                             progress: ((Int, Int, Float) -> Bool)? = nil) throws -> (ImageClassifier, Report) {
        let start = Date()
        let size = dataset.size
        let images = try (0 ..< dataset.count).map { try dataset.item(at: $0).pixels }
        let config = ImageClassifierConfig(imageSize: size, channels: channels, featureWidth: featureWidth,
                                           labels: dataset.entries.map(\.caption), inputPool: inputPool)
        let model = ImageClassifier(config: config)
        initialize(model, seed: settings.seed)
        var random = TrainingRandom(seed: settings.seed ^ 0xC1A5_5E5)
        let optimizer = AdamW(weightDecay: settings.weightDecay)
        let schedule = LearningRateSchedule(peak: settings.learningRate, warmupSteps: settings.warmupSteps, shape: .cosine,
                                            totalSteps: settings.steps)
        let parameters = model.namedParameters()
        var order = EpochOrder(count: dataset.count, seed: settings.seed)
        model.beginTraining()
        for step in 0 ..< settings.steps {
            let labels = order.next(settings.batchSize)
            var batch: [Float] = []
            batch.reserveCapacity(labels.count * 3 * size * size)
            for label in labels { batch += augment(images[label], size: size, settings: settings, random: &random) }
            let loss = Variable.crossEntropy(model(Variable(Tensor(shape: [labels.count, 3, size, size], batch))), labels: labels)
            loss.backward()
            var gradients: [String: Tensor] = [:]
            for (key, gradient) in model.gradients() { gradients[key] = gradient }
            optimizer.update(parameters, gradients: gradients, learningRate: Float(schedule.rate(at: step)))
            model.zeroGradients()
            if let progress, !progress(step + 1, settings.steps, loss.item) { break }
        }
        model.endTraining()

        let clean = accuracy(model, images: images, size: size)
        var check = TrainingRandom(seed: 12345)
        let augmented = images.map { augment($0, size: size, settings: settings, random: &check) }
        let noisy = accuracy(model, images: augmented, size: size)
        return (model, Report(cleanTop1: clean.top1, augmentedTop1: noisy.top1, augmentedTop5: noisy.top5,
                              seconds: Date().timeIntervalSince(start)))
    }

    /// Top-1 / top-5 accuracy of `model` on `images` (image i has label i).
    static func accuracy(_ model: ImageClassifier, images: [[Float]], size: Int) -> (top1: Double, top5: Double) {
        var top1 = 0, top5 = 0
        Autograd.withoutRecording {
            for start in stride(from: 0, to: images.count, by: 256) {
                let end = Swift.min(start + 256, images.count)
                let logits = model(Tensor(shape: [end - start, 3, size, size], Array(images[start ..< end].joined())))
                let scores = logits.scalars, classes = model.config.classes
                for r in 0 ..< end - start {
                    let rank = ImageClassifier.rank(of: start + r, in: scores[r * classes ..< (r + 1) * classes])
                    if rank == 1 { top1 += 1 }
                    if rank <= 5 { top5 += 1 }
                }
            }
        }
        let n = Double(Swift.max(images.count, 1))
        return (Double(top1) / n, Double(top5) / n)
    }

    /// PyTorch's defaults (uniform ±1/√fan_in for weights and biases; norms 1 and 0), seeded
    /// (`DefaultInitialization`).
    public static func initialize(_ model: ImageClassifier, seed: UInt64) {
        DefaultInitialization.apply(to: model.namedParameters(), seed: seed)
    }

    /// One augmented copy of a channel-major `[3, size, size]` image in [-1, 1].
    public static func augment(_ pixels: [Float], size: Int, settings: Settings, random: inout TrainingRandom) -> [Float] {
        let plane = size * size
        let span = 2 * settings.maxShift + 1
        let dx = random.int(below: span) - settings.maxShift, dy = random.int(below: span) - settings.maxShift
        let contrast = Float(0.8 + 0.4 * random.uniform()), brightness = Float(0.2 * random.uniform() - 0.1)
        let sigma = settings.maxNoise * Float(random.uniform())
        let blur = random.uniform() < settings.blurProbability
        var out = [Float](repeating: 1, count: 3 * plane)  // white outside the shifted image
        for c in 0 ..< 3 {
            for y in 0 ..< size {
                let sy = y - dy
                guard sy >= 0 && sy < size else { continue }
                for x in 0 ..< size {
                    let sx = x - dx
                    if sx >= 0 && sx < size { out[c * plane + y * size + x] = pixels[c * plane + sy * size + sx] }
                }
            }
        }
        if blur {
            let source = out
            for c in 0 ..< 3 {
                for y in 0 ..< size {
                    for x in 0 ..< size {
                        var total: Float = 0, count: Float = 0
                        for yy in Swift.max(0, y - 1) ... Swift.min(size - 1, y + 1) {
                            for xx in Swift.max(0, x - 1) ... Swift.min(size - 1, x + 1) { total += source[c * plane + yy * size + xx]; count += 1 }
                        }
                        out[c * plane + y * size + x] = total / count
                    }
                }
            }
        }
        let noise = sigma > 0 ? random.normal([3 * plane]).scalars : []
        for i in 0 ..< out.count {
            var v = out[i] * contrast + brightness
            if sigma > 0 { v += sigma * noise[i] }
            out[i] = Swift.min(1, Swift.max(-1, v))
        }
        return out
    }
}

extension ImageClassifier {
    /// 1 + the number of classes scored above `label` (1 = the best score).
    public static func rank(of label: Int, in scores: ArraySlice<Float>) -> Int {
        let base = scores.startIndex
        let target = scores[base + label]
        var rank = 1
        for (j, s) in scores.enumerated() where j != label && s > target { rank += 1 }
        return rank
    }
}
