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

@Suite struct TrainerTests {
    static let colours: [(caption: String, rgb: (Int, Int, Int))] = [
        ("red", (230, 20, 20)), ("red apple", (200, 30, 30)), ("blue sky", (30, 40, 220)), ("blue", (20, 20, 240)),
        ("green", (20, 200, 40)), ("green apple", (60, 210, 50)),
    ]

    func configuration(steps: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration(steps: steps, batchSize: 4, resolution: 8)
        c.learningRate = 2e-3
        c.checkpointEvery = 3
        c.randomFlip = true
        c.captionDropout = 0.2
        c.minSNRGamma = 5
        c.offsetNoise = 0.05
        c.seed = 5
        c.emaMaxDecay = 0.99
        return c
    }

    /// Stopping at a checkpoint and resuming gives bit-for-bit the weights, EMA, optimizer state
    /// and losses of the uninterrupted run (data order, flips, dropout, timesteps and noise included).
    @Test func resumedRunMatchesUninterruptedRun() throws {
        let data = try TrainerTestSupport.temporaryFolder("data")
        try TrainerTestSupport.writeDataset(Self.colours, size: 8, to: data)
        let straight = try TrainerTestSupport.temporaryFolder("straight"), split = try TrainerTestSupport.temporaryFolder("split")
        defer { for u in [data, straight, split] { try? FileManager.default.removeItem(at: u) } }

        let full = try TrainerTestSupport.trainer(config: TrainerTestSupport.conditionalConfig, data: data, output: straight,
                                                  configuration: configuration(steps: 6)).run(resume: false)
        _ = try TrainerTestSupport.trainer(config: TrainerTestSupport.conditionalConfig, data: data, output: split,
                                           configuration: configuration(steps: 3)).run(resume: false)
        // A different seed for the fresh weights: resuming must replace them with the checkpoint's.
        var later = configuration(steps: 6)
        let resumedTrainer = try TrainerTestSupport.trainer(config: TrainerTestSupport.conditionalConfig, data: data, output: split,
                                                            configuration: later)
        resumedTrainer.unet.initializeWeights(seed: 999)
        var messages: [String] = []
        let resumed = try resumedTrainer.run(resume: true) { event in
            if case .message(let text) = event { messages.append(text) }
            return true
        }
        #expect(messages.contains { $0.contains("resuming from checkpoint-000003") })
        #expect(resumed.losses == full.losses, "losses \(resumed.losses) vs \(full.losses)")
        #expect(resumed.randomState == full.randomState && resumed.epoch == full.epoch && resumed.position == full.position)
        for file in ["model.safetensors", "ema.safetensors", "optimizer.safetensors"] {
            let a = try TrainerTestSupport.tensors(straight.appendingPathComponent("checkpoints/checkpoint-000006/\(file)"))
            let b = try TrainerTestSupport.tensors(split.appendingPathComponent("checkpoints/checkpoint-000006/\(file)"))
            #expect(a.keys.sorted() == b.keys.sorted() && !a.isEmpty)
            #expect(a.keys.allSatisfy { a[$0]! == b[$0]! }, "\(file) differs after resuming")
        }
        // The exported model holds the EMA weights.
        let exported = try TrainerTestSupport.tensors(split.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        let ema = try TrainerTestSupport.tensors(split.appendingPathComponent("checkpoints/checkpoint-000006/ema.safetensors"))
        #expect(exported == ema)
        #expect(FileManager.default.fileExists(atPath: split.appendingPathComponent("loss.png").path))

        // A changed batch size cannot resume; an output with checkpoints is never silently restarted.
        later.batchSize = 2
        #expect(throws: TrainingError.self) {
            try TrainerTestSupport.trainer(config: TrainerTestSupport.conditionalConfig, data: data, output: split, configuration: later).run(resume: true)
        }
        #expect(throws: TrainingError.self) {
            try TrainerTestSupport.trainer(config: TrainerTestSupport.conditionalConfig, data: data, output: split,
                                           configuration: configuration(steps: 9)).run(resume: false)
        }
    }

    /// A stop asked for while the captions are still being encoded (Ctrl-C or SIGTERM in the
    /// first minutes of a large run) ends the run there, before any step or checkpoint.
    @Test func stopDuringCaptionEncodingEndsBeforeTheFirstStep() throws {
        let data = try TrainerTestSupport.temporaryFolder("data")
        try TrainerTestSupport.writeDataset(Self.colours, size: 8, to: data)
        let output = try TrainerTestSupport.temporaryFolder("stop-encoding")
        defer { for u in [data, output] { try? FileManager.default.removeItem(at: u) } }
        var encodingEvents: [(Int, Int)] = []
        var steps = 0
        let state = try TrainerTestSupport.trainer(config: TrainerTestSupport.conditionalConfig, data: data, output: output,
                                                   configuration: configuration(steps: 3)).run(resume: false) { event in
            switch event {
            case .encoding(let done, let total):
                encodingEvents.append((done, total))
                return false
            case .step: steps += 1
            default: break
            }
            return true
        }
        #expect(encodingEvents.count == 1 && encodingEvents[0].0 > 0 && encodingEvents[0].0 <= encodingEvents[0].1)
        #expect(state.step == 0 && steps == 0)
        #expect(TrainingCheckpoint.newest(in: output.appendingPathComponent("checkpoints")) == nil)
    }

    /// Unfinished (`.partial`) or incomplete checkpoint folders are never resumed from, and are cleaned up.
    @Test func partialCheckpointsAreIgnored() throws {
        let data = try TrainerTestSupport.temporaryFolder("data")
        try TrainerTestSupport.writeDataset(Self.colours, size: 8, to: data)
        let output = try TrainerTestSupport.temporaryFolder("partial")
        defer { for u in [data, output] { try? FileManager.default.removeItem(at: u) } }
        _ = try TrainerTestSupport.trainer(config: TrainerTestSupport.unconditionalConfig, data: data, output: output,
                                           configuration: configuration(steps: 3), encoder: nil).run(resume: false)
        let checkpoints = output.appendingPathComponent("checkpoints")
        // A write killed half-way, and a folder without its state file.
        let partial = checkpoints.appendingPathComponent(".checkpoint-000006.partial")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        try Data("garbage".utf8).write(to: partial.appendingPathComponent("model.safetensors"))
        try FileManager.default.createDirectory(at: checkpoints.appendingPathComponent("checkpoint-000009"), withIntermediateDirectories: true)
        #expect(TrainingCheckpoint.newest(in: checkpoints)?.lastPathComponent == "checkpoint-000003")
        var messages: [String] = []
        let state = try TrainerTestSupport.trainer(config: TrainerTestSupport.unconditionalConfig, data: data, output: output,
                                                   configuration: configuration(steps: 6), encoder: nil).run(resume: true) { event in
            if case .message(let m) = event { messages.append(m) }
            return true
        }
        #expect(messages.contains { $0.contains("checkpoint-000003") })
        #expect(state.step == 6)
        #expect(!FileManager.default.fileExists(atPath: partial.path))

        // The output folder is a model the pipeline loads (unconditional: the prompt is ignored).
        let model = try DiffusionPipeline.load(folder: output)
        #expect(model.textEncoder == nil && model.vae == nil && model.defaultImageSize == 8)
        var request = GenerationRequest(prompt: "anything")
        request.steps = 5
        let images = try model.generate(request)
        #expect(images.count == 1 && images[0].width == 8 && images[0].height == 8)
    }

    /// The two-colour sanity check: a text-conditioned model learns which word means which colour,
    /// and generation through the pipeline (classifier-free guidance, dpmpp_2m) follows the prompt.
    /// (v-prediction: with ε-prediction this short a run leaves the x₀ estimate at high noise,
    /// x₀ = (xₜ − √(1−ᾱ) ε̂)/√ᾱ, so far off that euler / dpmpp_2m saturate — measured while
    /// writing this test; DDPM's clipping hid it.)
    @Test func conditionalModelLearnsColours() throws {
        let data = try TrainerTestSupport.temporaryFolder("data")
        try TrainerTestSupport.writeDataset([("red", (230, 20, 20)), ("blue", (20, 20, 230))], size: 8, to: data)
        let output = try TrainerTestSupport.temporaryFolder("colours")
        defer { for u in [data, output] { try? FileManager.default.removeItem(at: u) } }
        var c = TrainingConfiguration(steps: 300, batchSize: 8, resolution: 8)
        c.learningRate = 3e-3
        c.warmupSteps = 10
        c.captionDropout = 0.1
        c.checkpointEvery = 1000
        c.emaMaxDecay = 0.9
        c.seed = 3
        let trainer = try TrainerTestSupport.trainer(config: TrainerTestSupport.conditionalConfig, data: data, output: output, configuration: c)
        let start = Date()
        let state = try trainer.run(resume: false)
        let seconds = Date().timeIntervalSince(start)
        let early = state.losses.prefix(10).reduce(0, +) / 10, late = state.losses.suffix(10).reduce(0, +) / 10
        print("[train] two colours: loss \(early) → \(late) in \(state.step) steps, \(String(format: "%.1f", seconds)) s")
        #expect(late < 0.5 * early)

        // Generate with the trained (EMA) weights from the exported folder's weights.
        let weights = try SafeTensorsWeights(output.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        try trainer.unet.module.load(from: weights)
        let pipeline = DiffusionPipeline(textEncoder: ColourWordEncoder(), unet: trainer.unet.module, vae: nil,
                                       schedulerConfig: trainer.schedulerConfig, name: "colours")
        #expect(pipeline.defaultImageSize == 8)
        for (prompt, wantRed) in [("red", true), ("blue", false)] {
            var request = GenerationRequest(prompt: prompt)
            request.sampler = "dpmpp_2m"
            request.steps = 20
            request.guidance = 2
            request.count = 2
            for image in try pipeline.generate(request) {
                let m = try TrainerTestSupport.meanColour(image)
                print("[train] \"\(prompt)\" → mean RGB (\(Int(m.r)), \(Int(m.g)), \(Int(m.b)))")
                if wantRed { #expect(m.r > m.b + 60) } else { #expect(m.b > m.r + 60) }
            }
        }
    }

    /// The words reach the model only through the pooled vector (class embedding), and two of them
    /// only as metadata keywords (`keywordCaptions`): after training, "apple" (a keyword of the red
    /// image) gives red and "sky" (a keyword of the blue one) blue.
    @Test func pooledEmbeddingAndKeywordCaptionsAreLearned() throws {
        let data = try TrainerTestSupport.temporaryFolder("keywords")
        try TrainerTestSupport.writeDataset([("red", (230, 20, 20)), ("blue", (20, 20, 230))], size: 8, to: data)
        try ("{\"file_name\": \"0000.png\", \"text\": \"red\", \"keywords\": [\"apple\"]}\n" +
             "{\"file_name\": \"0001.png\", \"text\": \"blue\", \"keywords\": [\"sky\"]}\n")
            .write(to: data.appendingPathComponent("metadata.jsonl"), atomically: true, encoding: .utf8)
        let output = try TrainerTestSupport.temporaryFolder("keywords-out")
        defer { for u in [data, output] { try? FileManager.default.removeItem(at: u) } }
        var c = TrainingConfiguration(steps: 300, batchSize: 8, resolution: 8)
        c.learningRate = 3e-3
        c.warmupSteps = 10
        c.captionDropout = 0.1
        c.keywordCaptions = 0.5
        c.checkpointEvery = 1000
        c.emaMaxDecay = 0.9
        c.seed = 4
        let trainer = try TrainerTestSupport.trainer(config: TrainerTestSupport.pooledConfig, data: data, output: output,
                                                     configuration: c, encoder: PooledOnlyWordEncoder())
        #expect(trainer.data.possibleCaptions.contains("apple") && trainer.data.possibleCaptions.contains("sky"))
        try trainer.run(resume: false)
        let exported = try UNet2DConditionConfig(ModelConfig(contentsOf: output.appendingPathComponent("unet/config.json")))
        #expect(exported.classEmbeddingInputDim == 12)
        let pipeline = DiffusionPipeline(textEncoder: PooledOnlyWordEncoder(), unet: trainer.unet.module, vae: nil,
                                       schedulerConfig: trainer.schedulerConfig, name: "keywords")
        try trainer.unet.module.load(from: SafeTensorsWeights(output.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")))
        for (prompt, wantRed) in [("red", true), ("apple", true), ("blue", false), ("sky", false)] {
            var request = GenerationRequest(prompt: prompt)
            request.sampler = "dpmpp_2m"
            request.steps = 20
            request.guidance = 2
            for image in try pipeline.generate(request) {
                let m = try TrainerTestSupport.meanColour(image)
                print("[train] pooled \"\(prompt)\" → mean RGB (\(Int(m.r)), \(Int(m.g)), \(Int(m.b)))")
                if wantRed { #expect(m.r > m.b + 60, "\(prompt)") } else { #expect(m.b > m.r + 60, "\(prompt)") }
            }
        }
        // A pooled-embedding UNet refuses an encoder without pooled vectors, by name.
        #expect(DiffusionPipeline.conditioningMismatch(textEncoder: ColourWordEncoder(), unet: trainer.unet.module)?
            .contains("gives none") == true)
        #expect(throws: TrainingError.self) {
            _ = try TrainerTestSupport.trainer(config: TrainerTestSupport.pooledConfig, data: data, output: output, configuration: c)
        }
    }

    /// An unreadable image stops training with its name, or with --skip-bad-files is left out with a warning.
    @Test func unreadableImagesStopOrAreSkipped() throws {
        let data = try TrainerTestSupport.temporaryFolder("bad")
        try TrainerTestSupport.writeDataset(Self.colours, size: 8, to: data)
        try Data("not a png".utf8).write(to: data.appendingPathComponent("0002.png"))
        let output = try TrainerTestSupport.temporaryFolder("bad-out"), skipping = try TrainerTestSupport.temporaryFolder("skip-out")
        defer { for u in [data, output, skipping] { try? FileManager.default.removeItem(at: u) } }
        var c = configuration(steps: 4)
        #expect { try TrainerTestSupport.trainer(config: TrainerTestSupport.unconditionalConfig, data: data, output: output,
                                                 configuration: c, encoder: nil).run(resume: false) }
            throws: { ($0 as? DatasetError)?.description.contains("0002.png") == true }
        c.skipBadFiles = true
        var warnings: [String] = []
        let state = try TrainerTestSupport.trainer(config: TrainerTestSupport.unconditionalConfig, data: data, output: skipping,
                                                   configuration: c, encoder: nil).run(resume: false) { event in
            if case .message(let m) = event, m.hasPrefix("warning") { warnings.append(m) }
            return true
        }
        #expect(state.step == 4)
        #expect(warnings.count == 1 && warnings[0].contains("0002.png"), "\(warnings)")
    }

    /// Fine-tuning a Stable Diffusion folder (tiny random SD 1.x fixture): latents through its VAE,
    /// its CLIP text encoder, and an output folder with text encoder, tokenizer and VAE that loads.
    @Test func fineTunesALatentModelIntoALoadableFolder() throws {
        let source = TrainingTestSupport.fixtures.appendingPathComponent("sd/sd1")
        let data = try TrainerTestSupport.temporaryFolder("ft-data")
        try TrainerTestSupport.writeDataset(Self.colours, size: 32, to: data)
        let output = try TrainerTestSupport.temporaryFolder("ft-out")
        defer { for u in [data, output] { try? FileManager.default.removeItem(at: u) } }
        let original = try DiffusionPipeline.load(folder: source)
        let folder = try DiffusersFolder(source)
        let unetConfig = try ModelConfig(contentsOf: folder.configURL("unet"))
        let unet = try TrainableUNet(config: unetConfig)
        try unet.module.load(from: SafeTensorsWeights(folder.weightFiles("unet")))
        let schedulerConfig = try SchedulerConfig(contentsOf: folder.configURL("scheduler"))
        var export = ModelExport(unetClassName: unet.className, unetConfig: unetConfig.values, schedulerConfig: schedulerConfig,
                                 textEncoder: .diffusers(folder: source), vaeSource: source)
        export.guidance = 5.5
        var c = TrainingConfiguration(steps: 3, batchSize: 2, resolution: 32)
        c.learningRate = 1e-3
        let trainer = try DiffusionTrainer(unet: unet, textEncoder: original.textEncoder, vae: original.vae,
                                           schedulerConfig: original.schedulerConfig, export: export,
                                           dataset: ImageCaptionDataset(directory: data, size: 32), configuration: c, output: output)
        let state = try trainer.run(resume: false)
        #expect(state.losses.count == 3 && state.losses.allSatisfy(\.isFinite))
        let tuned = try DiffusionPipeline.load(folder: output)
        #expect(tuned.vae != nil && tuned.textEncoder is CLIPPromptEncoder && tuned.defaultImageSize == original.defaultImageSize)
        #expect(tuned.defaultGuidance == 5.5 && original.defaultGuidance == nil)
        let before = original.unet.namedParameters().map(\.parameter.value.scalars)
        let after = tuned.unet.namedParameters().map(\.parameter.value.scalars)
        #expect(before != after, "training changed no weight")
        var request = GenerationRequest(prompt: "red apple")
        request.steps = 3
        request.width = 32
        request.height = 32
        #expect(try tuned.generate(request).count == 1)
    }

    @Test func badSettingsAreRefusedWithTheirNames() throws {
        func refused(_ c: TrainingConfiguration, _ property: String) -> Bool {
            do { try c.validate() } catch let error as TrainingError {
                return error.parameter == property && error.description.hasPrefix(property + " ") && !error.description.contains("--")
            } catch { return false }
            return false
        }
        var c = TrainingConfiguration(steps: 0, batchSize: 4, resolution: 8)
        #expect(refused(c, "steps"))
        c.steps = 10
        c.learningRateSchedule = "linear"
        #expect(refused(c, "learningRateSchedule"))
        c.learningRateSchedule = "cosine"
        c.resolution = 12
        #expect(refused(c, "resolution"))
        c.resolution = 16
        c.convolutionAlgorithm = "fft"
        #expect(refused(c, "convolutionAlgorithm"))
        c.convolutionAlgorithm = "direct"
        #expect(c.convolutions == .direct)
        try c.validate()
        c.convolutionAlgorithm = nil
        #expect(c.convolutions == .winograd)
    }
}
