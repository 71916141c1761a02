import DiffuseAutograd
import DiffuseData
import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffusePipelines
import DiffuseSchedulers
import DiffuseTensor
import DiffuseTraining
import Foundation
import Testing

/// The CNN classifier `diffuse eval` judges generated images with, and the evaluation built on it.
@Suite struct ClassifierTests {
    static let colours: [(caption: String, rgb: (Int, Int, Int))] = [
        ("red", (230, 20, 20)), ("blue", (20, 20, 230)), ("green", (20, 200, 20)),
        ("yellow", (230, 220, 20)), ("purple", (140, 20, 160)), ("grey", (120, 120, 120)),
    ]

    static func trained(_ data: URL, loss: @escaping (Float) -> Void = { _ in }) throws -> (ImageClassifier, ClassifierTraining.Report) {
        var settings = ClassifierTraining.Settings()
        settings.steps = 120
        settings.batchSize = 12
        settings.learningRate = 3e-3
        settings.warmupSteps = 10
        settings.seed = 5
        return try ClassifierTraining.train(dataset: ImageCaptionDataset(directory: data, size: 8), channels: [8, 16],
                                            featureWidth: 16, settings: settings) { _, _, value in loss(value); return true }
    }

    @Test func learnsToTellTheImagesApartAndRoundTrips() throws {
        let data = try TrainerTestSupport.temporaryFolder("classifier-data")
        let saved = try TrainerTestSupport.temporaryFolder("classifier")
        defer { for u in [data, saved] { try? FileManager.default.removeItem(at: u) } }
        try TrainerTestSupport.writeDataset(Self.colours, size: 8, to: data)
        var losses: [Float] = []
        let (model, report) = try Self.trained(data) { losses.append($0) }
        let early: Float = losses.prefix(5).reduce(0, +) / 5
        let late: Float = losses.suffix(5).reduce(0, +) / 5
        print("[classifier] 6 colours: loss \(early) → \(late); clean top-1 \(report.cleanTop1), augmented top-1 \(report.augmentedTop1)")
        #expect(late < 0.5 * early)  // chance is ln 6 ≈ 1.79; augmented copies keep it above 0
        #expect(report.cleanTop1 == 1)
        #expect(report.augmentedTop5 == 1)
        #expect(model.config.labels == Self.colours.map(\.caption))

        // The same training run is reproducible, and save → load gives the same scores.
        let (again, _) = try Self.trained(data)
        let probe = Tensor(shape: [2, 3, 8, 8], (0 ..< 384).map { Float($0 % 17) / 8 - 1 })
        #expect(again(probe).scalars == model(probe).scalars)
        try model.save(to: saved)
        let loaded = try ImageClassifier.load(directory: saved)
        #expect(loaded.config == model.config)
        #expect(loaded(probe).scalars == model(probe).scalars)
        do {
            _ = try ImageClassifier.load(directory: saved.appendingPathComponent("missing"))
            Issue.record("loaded a missing classifier")
        } catch let error as ModelConfigError {
            #expect(error.description.contains("config.json"))
        }
    }

    /// Input pooling averages f × f blocks before the convolutions; configs written without the
    /// key read as 1.
    @Test func inputPoolingAndOlderConfigs() throws {
        let pooled = ImageClassifier(config: ImageClassifierConfig(imageSize: 8, channels: [4, 8], featureWidth: 5, labels: ["a", "b", "c"], inputPool: 2))
        ClassifierTraining.initialize(pooled, seed: 1)
        // A 2×2-block-constant image and its block averages give the same features as the
        // averaged image through an unpooled copy of the weights.
        var values: [Float] = []
        for c in 0 ..< 3 { for y in 0 ..< 8 { for x in 0 ..< 8 { values.append(Float((c * 16 + (y / 2) * 4 + x / 2) % 7) / 4 - 0.75) } } }
        let image = Tensor(shape: [1, 3, 8, 8], values)
        let plain = ImageClassifier(config: ImageClassifierConfig(imageSize: 4, channels: [4, 8], featureWidth: 5, labels: ["a", "b", "c"]))
        try plain.load(from: TensorDictionary(Dictionary(uniqueKeysWithValues: pooled.namedParameters().map { ($0.key, $0.parameter.value) })))
        var small: [Float] = []
        for c in 0 ..< 3 { for y in 0 ..< 4 { for x in 0 ..< 4 { small.append(values[c * 64 + (2 * y) * 8 + 2 * x]) } } }
        let a = pooled.features(image).scalars, b = plain.features(Tensor(shape: [1, 3, 4, 4], small)).scalars
        #expect(a.count == 5 && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 })
        let old = try JSONDecoder().decode(ImageClassifierConfig.self, from: Data(#"{"imageSize": 8, "channels": [4], "featureWidth": 2, "labels": ["x"]}"#.utf8))
        #expect(old.inputPool == 1)
    }

    @Test func rankCountsHigherScores() {
        let scores: [Float] = [0.1, 2, -1, 2, 0.5]
        #expect(ImageClassifier.rank(of: 1, in: scores[...]) == 1)  // ties do not push a class down
        #expect(ImageClassifier.rank(of: 4, in: scores[...]) == 3)
        #expect(ImageClassifier.rank(of: 2, in: scores[...]) == 5)
        #expect(ImageClassifier.rank(of: 0, in: scores[1...]) == 1)  // slices index from their own start
    }

    /// The evaluation on a (small, untrained) pixel model: ranks within the class count, and the
    /// Fréchet distance is ≈ 0 for the real images themselves and clearly larger for generated ones.
    @Test func evaluationRanksAndFrechetDistance() throws {
        let data = try TrainerTestSupport.temporaryFolder("eval-data")
        defer { try? FileManager.default.removeItem(at: data) }
        try TrainerTestSupport.writeDataset(Self.colours, size: 8, to: data)
        let (classifier, _) = try Self.trained(data)
        let dataset = try ImageCaptionDataset(directory: data, size: 8)
        let unet = try TrainableUNet(config: ModelConfig(values: TrainerTestSupport.unconditionalConfig, source: "test"))
        unet.initializeWeights(seed: 1)
        let pipeline = DiffusionPipeline(textEncoder: nil, unet: unet.module, vae: nil,
                                       schedulerConfig: SchedulerConfig(values: TrainerTestSupport.schedulerJSON), name: "untrained")
        let evaluation = try ModelEvaluation(pipeline: pipeline, dataset: dataset, classifier: classifier)
        var settings = ModelEvaluation.Settings()
        settings.steps = 4
        let (result, images) = try evaluation.retrieval([("red", 0), ("blue", 1)], settings: settings)
        #expect(result.prompts == 2 && images.count == 2)
        #expect(result.ranks.allSatisfy { (1 ... 6).contains($0.rank) })
        let real = try (0 ..< dataset.count).map { try PNGImage(contentsOf: dataset.entries[$0].image) }
        let same = try evaluation.frechetDistance(real), noise = try evaluation.frechetDistance(images + images + images)
        print("[classifier] Fréchet distance: real images \(same), untrained samples \(noise)")
        #expect(same < 1e-3 && noise > 100 * max(same, 1e-6))
        // A classifier of other images is refused by name.
        let other = ImageClassifier(config: ImageClassifierConfig(imageSize: 8, channels: [8], featureWidth: 4, labels: ["a", "b"]))
        #expect(throws: TrainingError.self) { try ModelEvaluation(pipeline: pipeline, dataset: dataset, classifier: other) }
    }
}
