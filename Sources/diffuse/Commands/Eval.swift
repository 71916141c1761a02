import ArgumentParser
import DiffuseData
import DiffuseFormats
import DiffuseModels
import DiffusePipelines
import DiffuseSchedulers
import DiffuseTraining
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a text-to-image model against the captioned images it was trained on.",
        discussion: """
        Generates one image per caption (an even spread of --captions training captions) and per \
        paraphrase (--paraphrases: TEXT<TAB>CAPTION lines) and classifies it with --classifier, a \
        CNN trained on the training images (diffuse train-classifier): top-1 / top-5 = how often \
        the named image's class scores first / in the first five. Also the Fréchet distance \
        between the generated and the real images in the classifier's feature space (FID's formula \
        with this classifier for Inception), and with --compare-sampler the same for another \
        sampler on the same prompts and seeds. For a model with a caption index \
        (caption_index.safetensors), paraphrases are evaluated twice: as written (the model alone) \
        and matched to their nearest training caption (what `diffuse generate` does by default).

        Example (the bundled model on its own data):
          diffuse dataset emoji --output data/emoji-32 --size 32
          diffuse eval --data data/emoji-32 --steps 20 --paraphrases configs/emoji-paraphrases.tsv \\
              --paraphrases configs/emoji-paraphrases-heldout.tsv
        """
    )

    @OptionGroup(title: "Model") var modelOptions: ModelOptions

    @Option(help: "The captioned images the model was trained on.")
    var data: String

    @Option(help: "The classifier trained on those images (diffuse train-classifier; default: the bundled models/emoji-classifier).")
    var classifier: String?

    @Option(help: "Training captions to generate from.")
    var captions = 200

    @Option(help: "Paraphrase file: TEXT<TAB>CAPTION per line (# starts a comment); repeat for more files, each reported on its own.")
    var paraphrases: [String] = []

    @OptionGroup(title: "Sampling") var sampling: SamplingOptions

    @Option(help: "A second sampler to compare on the first --compare-count captions (e.g. ddpm).")
    var compareSampler: SamplerName?

    @Option(help: "Steps of the second sampler.")
    var compareSteps = 1000

    @Option(help: "Captions for the sampler comparison.")
    var compareCount = 32

    @Option(help: "Write a PNG grid here: the first 32 caption images, or with --grid-prompt one row of four seeds per prompt.")
    var grid: String?

    @Option(help: "A prompt for the --grid rows (repeat for more rows).")
    var gridPrompt: [String] = []

    @Flag(help: "Use prompts as written, even when the model has a caption index (paraphrases are then evaluated once).")
    var noCaptionMatching = false

    @Option(help: "Write the results as JSON here.")
    var json: String?

    func run() throws {
        try prepareEngine()
        let pipeline = try modelOptions.load()
        let (sampler, steps) = (sampling.sampler?.rawValue, sampling.steps(for: pipeline))
        let dataset = try ImageCaptionDataset(directory: URL(fileURLWithPath: data), size: pipeline.defaultImageSize)
        let classifierURL = try classifier.map { URL(fileURLWithPath: $0) } ?? ModelLocation.defaultClassifier()
        guard FileManager.default.fileExists(atPath: classifierURL.appendingPathComponent("config.json").path) else {
            throw CLIError("--classifier: no classifier in \(classifierURL.path); train one with: diffuse train-classifier --data \(data) --output \(classifierURL.path)")
        }
        let evaluation = try ModelEvaluation(pipeline: pipeline, dataset: dataset,
                                             classifier: try ImageClassifier.load(directory: classifierURL))
        var settings = ModelEvaluation.Settings()
        settings.sampler = sampler
        settings.steps = steps
        let guidance = pipeline.guidance(sampling.guidance)
        settings.guidance = guidance
        settings.matchCaption = !noCaptionMatching
        settings.promptSyntax = sampling.promptSyntax
        let samplerName = try pipeline.samplerDisplayName(sampler)
        var results: [String: JSONValue] = ["model": .string(pipeline.name), "sampler": .string(samplerName), "steps": .number(steps),
                                           "guidance": .double(Double(guidance))]

        let captionPrompts = evaluation.spreadIndices(captions).map { (prompt: dataset.entries[$0].caption, target: $0) }
        let bar = ProgressBar(label: "captions")
        let (captionResult, captionImages) = try evaluation.retrieval(captionPrompts, settings: settings) { i, n in
            bar.update(step: i, total: n, elapsed: 0)
        }
        bar.finish()
        let frechet = try evaluation.frechetDistance(captionImages)
        print(String(format: "training captions (%d, %@ %d steps, guidance %g): top-1 %.1f%%  top-5 %.1f%%  Fréchet distance %.4f  (%.2f s/image)",
                     captionResult.prompts, samplerName, steps, guidance, 100 * captionResult.top1, 100 * captionResult.top5, frechet,
                     captionResult.secondsPerImage))
        results["captions"] = ["count": .number(captionResult.prompts), "top1": .double(captionResult.top1), "top5": .double(captionResult.top5),
                               "frechet": .double(frechet), "seconds_per_image": .double(captionResult.secondsPerImage)]

        for (fileNumber, file) in paraphrases.enumerated() {
            // Keys of the JSON results: "paraphrases" for the first file, "paraphrases_2"… for the others.
            let key = fileNumber == 0 ? "paraphrases" : "paraphrases_\(fileNumber + 1)"
            let text = try String(contentsOf: URL(fileURLWithPath: file), encoding: .utf8)
            var items: [(prompt: String, target: Int)] = []
            for (number, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard fields.count == 2 else { throw CLIError("\(file):\(number + 1): expected TEXT<TAB>CAPTION") }
                guard let target = evaluation.index(ofCaption: String(fields[1])) else {
                    throw CLIError("\(file):\(number + 1): \"\(fields[1])\" is not a caption in \(data)")
                }
                items.append((String(fields[0]), target))
            }
            print("\(file):")
            // With a caption index, the model alone (prompts as written) and with prompts matched to captions.
            var asWritten = settings
            asWritten.matchCaption = false
            let (result, _) = try evaluation.retrieval(items, settings: asWritten)
            let label = pipeline.captionIndex == nil ? "paraphrases" : "paraphrases as written"
            print(String(format: "%@ (%d): top-1 %.1f%%  top-5 %.1f%%", label, result.prompts, 100 * result.top1, 100 * result.top5))
            for r in result.ranks where r.rank > 5 { print("  missed: \"\(r.prompt)\" → \(r.target) ranked \(r.rank) (looks like: \(r.predicted))") }
            results[key] = ["file": .string(file), "count": .number(result.prompts), "top1": .double(result.top1), "top5": .double(result.top5)]
            if settings.matchCaption, pipeline.captionIndex != nil {
                // Each paraphrase's caption, once (nil: the text is a caption itself).
                let captionOf: [String: String?] = Dictionary(items.map { ($0.prompt, pipeline.matchedCaption(for: $0.prompt)?.caption) },
                                                              uniquingKeysWith: { first, _ in first })
                let matchedRight = items.filter { captionOf[$0.prompt] ?? nil == dataset.entries[$0.target].caption }.count
                let (matched, _) = try evaluation.retrieval(items, settings: settings)
                print(String(format: "paraphrases matched to captions (%d; the caption index picked the named caption for %d): top-1 %.1f%%  top-5 %.1f%%",
                             matched.prompts, matchedRight, 100 * matched.top1, 100 * matched.top5))
                for r in matched.ranks where r.rank > 5 {
                    print("  missed: \"\(r.prompt)\" (matched to \"\((captionOf[r.prompt] ?? nil) ?? r.prompt)\") → \(r.target) ranked \(r.rank) (looks like: \(r.predicted))")
                }
                results[key + "_matched"] = ["file": .string(file), "count": .number(matched.prompts), "top1": .double(matched.top1),
                                             "top5": .double(matched.top5), "caption_matched": .number(matchedRight)]
            }
        }

        if let compareSampler {
            var other = settings
            other.sampler = compareSampler.rawValue
            other.steps = compareSteps
            let subset = Array(captionPrompts.prefix(compareCount))
            let (a, aImages) = (captionResult, Array(captionImages.prefix(compareCount)))
            let (b, bImages) = try evaluation.retrieval(subset, settings: other)
            let fa = try evaluation.frechetDistance(aImages), fb = try evaluation.frechetDistance(bImages)
            let name = try pipeline.samplerDisplayName(compareSampler.rawValue)
            print(String(format: "sampler comparison on %d captions: %@ %d steps FD %.4f vs %@ %d steps FD %.4f (ratio %.3f); top-5 %.1f%% vs %.1f%%",
                         subset.count, samplerName, steps, fa, name, compareSteps, fb, fa / fb,
                         100 * Double(a.ranks.prefix(compareCount).filter { $0.rank <= 5 }.count) / Double(subset.count), 100 * b.top5))
            results["comparison"] = ["count": .number(subset.count), "sampler": .string(name), "steps": .number(compareSteps),
                                     "frechet": .double(fb), "frechet_main": .double(fa)]
        }

        if let grid, !gridPrompt.isEmpty {
            let rows = try gridPrompt.map { prompt in try (0 ..< 4).map { try evaluation.generate(prompt, seed: UInt64($0), settings: settings) } }
            try SampleGrid.image(rows: rows, minimumTile: 96).write(to: URL(fileURLWithPath: grid))
            print("grid: \(grid) (rows: \(gridPrompt.joined(separator: "; ")); seeds 0–3)")
        } else if let grid {
            let tiles = Array(captionImages.prefix(32))
            let rows = stride(from: 0, to: tiles.count, by: 8).map { Array(tiles[$0 ..< Swift.min($0 + 8, tiles.count)]) }
            try SampleGrid.image(rows: rows, minimumTile: 64).write(to: URL(fileURLWithPath: grid))
            print("grid: \(grid) (captions, row by row: \(captionPrompts.prefix(32).map(\.prompt).joined(separator: "; ")))")
        }
        if let json {
            try JSONValue.object(sorting: results).writeConfigFile(to: URL(fileURLWithPath: json))
        }
    }
}
