import ArgumentParser
import DiffuseData
import DiffuseModels
import DiffuseTraining
import Foundation

struct TrainClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-classifier",
        abstract: "Train the image classifier that diffuse eval judges generated images with.",
        discussion: """
        One class per image of a captioned folder (its caption is the class name). A small CNN \
        (3×3 convolutions with stride-2 stages, group norm, SiLU, global average pooling, a \
        128-wide feature layer) learns to tell the images apart from augmented copies — shifted, \
        recoloured, noisy, blurred — so that it also recognises imperfect renderings. Writes \
        config.json + model.safetensors and prints its accuracy on the images and on augmented copies.

        Example (the classifier the bundled model is evaluated with):
          diffuse train-classifier --data data/emoji-32 --output models/emoji-classifier
        """
    )

    @Option(help: "The captioned images (one class each).")
    var data: String

    @Option(help: "Output folder for config.json and model.safetensors.")
    var output: String

    @Option(help: "Image side in pixels.")
    var resolution = 32

    @Option(help: "Optimizer steps.")
    var steps = 2000

    @Option(help: "Images per step.")
    var batchSize = 128

    @Option(help: "Peak learning rate (AdamW, cosine decay).")
    var lr = 2e-3

    @Option(help: "Random seed (initial weights, data order, augmentation).")
    var seed: UInt64 = 0

    func validate() throws {
        guard steps >= 1, batchSize >= 1 else { throw ValidationError("--steps and --batch-size must be at least 1") }
        guard lr > 0 else { throw ValidationError("--lr must be positive (got \(lr))") }
        guard resolution >= 8, resolution % 8 == 0 else { throw ValidationError("--resolution must be a multiple of 8 (got \(resolution))") }
    }

    func run() throws {
        try prepareEngine()
        let dataset = try ImageCaptionDataset(directory: URL(fileURLWithPath: data), size: resolution)
        var settings = ClassifierTraining.Settings()
        settings.steps = steps
        settings.batchSize = batchSize
        settings.learningRate = lr
        settings.seed = seed
        print("training a classifier for \(dataset.count) images at \(resolution)², \(steps) steps of \(batchSize)")
        let bar = ProgressBar(label: "classifier")
        let start = Date()
        var smoothed: Float = 0
        let (classifier, report) = try ClassifierTraining.train(dataset: dataset, settings: settings) { step, total, loss in
            smoothed = step == 1 ? loss : 0.98 * smoothed + 0.02 * loss
            bar.update(step: step, total: total, elapsed: Date().timeIntervalSince(start))
            return true
        }
        bar.finish()
        try classifier.save(to: URL(fileURLWithPath: output))
        print(String(format: "final loss %.4f; top-1 on the images %.1f%%, on augmented copies top-1 %.1f%% top-5 %.1f%%; %.0f s → %@",
                     smoothed, 100 * report.cleanTop1, 100 * report.augmentedTop1, 100 * report.augmentedTop5, report.seconds, output))
    }
}
