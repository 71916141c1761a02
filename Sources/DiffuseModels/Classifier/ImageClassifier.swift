import DiffuseAutograd
import DiffuseFormats
import DiffuseNN
import DiffuseTensor
import Foundation

/// The shape of an `ImageClassifier` and the names of its classes; saved as `config.json`.
public struct ImageClassifierConfig: Codable, Sendable, Equatable {
    /// Input side in pixels (square RGB images in [-1, 1]).
    public var imageSize: Int
    /// Channels of the first convolution and of each stride-2 stage after it.
    public var channels: [Int]
    /// Width of the feature vector before the class scores.
    public var featureWidth: Int
    /// One name per class (e.g. the emoji captions), in class order.
    public var labels: [String]
    /// The images are first averaged over f × f pixel blocks (1 = not): the classifier then sees
    /// shapes and colours, not pixel-level detail such as a generator's speckle.
    public var inputPool: Int

    public init(imageSize: Int, channels: [Int] = [32, 64, 128, 256], featureWidth: Int = 128, labels: [String], inputPool: Int = 1) {
        self.imageSize = imageSize
        self.channels = channels
        self.featureWidth = featureWidth
        self.labels = labels
        self.inputPool = inputPool
    }

    enum CodingKeys: String, CodingKey { case imageSize, channels, featureWidth, labels, inputPool }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageSize = try c.decode(Int.self, forKey: .imageSize)
        channels = try c.decode([Int].self, forKey: .channels)
        featureWidth = try c.decode(Int.self, forKey: .featureWidth)
        labels = try c.decode([String].self, forKey: .labels)
        inputPool = try c.decodeIfPresent(Int.self, forKey: .inputPool) ?? 1
    }

    /// The number of classes.
    public var classes: Int { labels.count }
}

/// A small convolutional classifier for the images of a captioned dataset (one class per image):
/// a 3×3 convolution, then stride-2 3×3 convolutions — each followed by group norm and SiLU —,
/// global average pooling, a linear layer to `featureWidth` features (SiLU) and a linear layer to
/// the class scores. `diffuse eval` uses it to judge generated images: its top-k accuracy on them
/// (prompt adherence) and the Fréchet distance of its features (quality), as FID uses Inception's.
///
/// Checkpoint keys: `conv_in`, `stages.i.conv` / `stages.i.norm`, `norm_in`, `project`, `head`.
public final class ImageClassifier: Module {
    public let config: ImageClassifierConfig
    public let convIn: Conv2d
    public let normIn: GroupNorm
    public let stages: [ClassifierStage]
    public let project: Linear
    public let head: Linear

    public init(config: ImageClassifierConfig) {
        precondition(!config.channels.isEmpty && config.classes > 0, "ImageClassifier: empty channels or labels")
        self.config = config
        let c = config.channels
        convIn = Conv2d(3, c[0], kernel: 3, padding: 1)
        normIn = GroupNorm(groups: Swift.min(8, c[0]), channels: c[0])
        stages = zip(c.dropLast(), c.dropFirst()).map { ClassifierStage(inChannels: $0, outChannels: $1) }
        project = Linear(c[c.count - 1], config.featureWidth)
        head = Linear(config.featureWidth, config.classes)
    }

    /// Features `[B, featureWidth]` of images `[B, 3, imageSize, imageSize]` in [-1, 1].
    public func features<T: TensorValue>(_ images: T) -> T {
        var x = images
        let f = config.inputPool
        if f > 1 {
            let (b, c, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            x = x.reshaped([b, c, height / f, f, width / f, f]).mean(axes: [3, 5], keepDims: false)
        }
        var h = normIn(convIn(x), silu: true)
        for stage in stages { h = stage(h) }
        return project(h.mean(axes: [2, 3], keepDims: false)).silu()
    }

    /// Class scores `[B, classes]` (logits).
    public func callAsFunction<T: TensorValue>(_ images: T) -> T { head(features(images)) }

    /// Loads `config.json` + `model.safetensors` from a folder `save(to:)` wrote.
    /// - Throws: `ModelConfigError` for a bad config, `WeightLoadingError` naming tensors.
    public static func load(directory: URL) throws -> ImageClassifier {
        let configURL = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw ModelConfigError(source: configURL.path, key: nil, problem: "cannot be read (train a classifier with diffuse train-classifier)")
        }
        let config: ImageClassifierConfig
        do { config = try JSONDecoder().decode(ImageClassifierConfig.self, from: data) } catch {
            throw ModelConfigError(source: configURL.path, key: nil, problem: "is not an image classifier config: \(error)")
        }
        guard config.imageSize >= 8, config.inputPool >= 1, config.imageSize % config.inputPool == 0, !config.channels.isEmpty, config.channels.allSatisfy({ $0 > 0 }), config.featureWidth > 0,
              config.classes > 0 else {
            throw ModelConfigError(source: configURL.path, key: nil, problem: "has an empty or non-positive size, channel list or label list")
        }
        let model = ImageClassifier(config: config)
        try model.load(from: SafeTensorsWeights(directory.appendingPathComponent("model.safetensors")))
        return model
    }

    /// Writes `config.json` and `model.safetensors` (float32) into `directory`, each atomically.
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let entries = namedParameters().map { SafeTensorsWriter.Entry(name: $0.key, shape: $0.parameter.shape, floats: $0.parameter.value.scalars) }
        try SafeTensorsWriter.write(entries, metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
        try FileIO.writeAtomically(try encoder.encode(config), to: directory.appendingPathComponent("config.json"))
    }
}

/// One stride-2 stage of `ImageClassifier`: 3×3 convolution (halves the size), group norm, SiLU.
public final class ClassifierStage: Module {
    public let conv: Conv2d
    public let norm: GroupNorm

    public init(inChannels: Int, outChannels: Int) {
        conv = Conv2d(inChannels, outChannels, kernel: 3, stride: 2, padding: 1)
        norm = GroupNorm(groups: Swift.min(8, outChannels), channels: outChannels)
    }

    public func callAsFunction<T: TensorValue>(_ x: T) -> T { norm(conv(x), silu: true) }
}
