import DiffuseAutograd
import DiffuseData
import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffusePipelines
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// What the trainer reports while it runs.
public enum TrainingEvent {
    /// After every optimizer step.
    case step(TrainingProgress)
    /// A checkpoint is complete (its folder) and the output model updated.
    case checkpoint(URL)
    /// A sample grid was written.
    case samples(URL)
    /// Something worth telling the user (resuming, caching prompts …).
    case message(String)
    /// Captions encoded so far, of the total, before the first step (the answer false stops the
    /// run there, with nothing written beyond `training.json`).
    case encoding(done: Int, total: Int)
}

public struct TrainingProgress: Sendable {
    /// Optimizer steps done, of `totalSteps`.
    public var step: Int
    public var totalSteps: Int
    /// This step's loss (mean over its micro-batches) and an exponential average of recent ones.
    public var loss: Float
    public var smoothedLoss: Float
    public var learningRate: Double
    /// Training images per second in this session (data, forward, backward and update).
    public var imagesPerSecond: Double
    /// Seconds of training in this session.
    public var elapsed: Double
    /// Seconds left at the current speed.
    public var eta: Double
}

/// Trains a diffusion UNet on a folder of captioned images: the DDPM objective (`DiffusionObjective`),
/// AdamW with warm-up and clipping, an EMA of the weights, and checkpoints that let a killed run
/// continue exactly where its last checkpoint was (`run(resume: true)`).
///
/// The output folder is a diffusers-layout model after every checkpoint (EMA weights when the EMA
/// is on); checkpoints live in `checkpoints/`, sample grids in `samples/`, the loss curve in `loss.png`.
///
/// With `configuration.loraRank` set, only LoRA factors train (`lora`, installed on the UNet's
/// chosen linear layers, and on the CLIP text encoder's with `loraTextEncoder`, which then encodes
/// the captions in every step on `Variable`s); the models' own weights are read as constants (no
/// leaves, no gradients, kept float16 when loaded so). Checkpoints then hold the factors and their
/// optimizer state, and the output is `pytorch_lora_weights.safetensors` in kohya's layout
/// instead of a model folder.
public final class DiffusionTrainer {
    public let unet: TrainableUNet
    public let textEncoder: (any PromptEncoder)?
    public let vae: AutoencoderKL?
    public let schedulerConfig: SchedulerConfig
    public let export: ModelExport
    public let data: TrainingData
    public let configuration: TrainingConfiguration
    public let output: URL
    public let objective: DiffusionObjective
    /// The adapters being trained (installed on `unet`, and on the text encoder with
    /// `configuration.loraTextEncoder`) when `configuration.loraRank` is set.
    public let lora: LoRANetwork?
    /// Caption encodings, computed once per caption (nil when the text encoder trains).
    private let prompts: PromptCache?
    /// The CLIP encoder whose adapters train (`configuration.loraTextEncoder`), or nil.
    private let trainedTextEncoder: CLIPPromptEncoder?

    /// - Parameters:
    ///   - unet: the network (already initialized or loaded).
    ///   - textEncoder: required for a conditional UNet, its `dimension` the UNet's cross-attention width.
    ///   - vae: for a latent model; its latent channels must be the UNet's input channels.
    ///   - schedulerConfig: the training noise schedule and prediction type (also exported).
    /// - Throws: `TrainingError` when the pieces do not fit together, or (naming `loraRank` /
    ///   `loraTargets` / `loraTextEncoder`) when the LoRA settings choose no layer, a rank wider
    ///   than a layer, or a text encoder other than CLIP.
    public init(unet: TrainableUNet, textEncoder: (any PromptEncoder)?, vae: AutoencoderKL?, schedulerConfig: SchedulerConfig,
                export: ModelExport, dataset: ImageCaptionDataset, configuration: TrainingConfiguration, output: URL) throws {
        try configuration.validate()
        let model = unet.module
        if model.contextDimension != nil {
            guard let textEncoder else { throw TrainingError("a text-conditioned UNet needs a text encoder (`textEncoder`)") }
            if let mismatch = DiffusionPipeline.conditioningMismatch(textEncoder: textEncoder, unet: model) { throw TrainingError(mismatch) }
        }
        if vae != nil && configuration.patchSize != 1 { throw TrainingError("patchSize is for pixel models (this one has a VAE)", parameter: "patchSize") }
        let channels = vae?.config.latentChannels ?? 3 * configuration.patchSize * configuration.patchSize
        guard model.inputChannels == channels, model.outputChannels == channels else {
            throw TrainingError("the UNet has in_channels \(model.inputChannels) / out_channels \(model.outputChannels) but \(vae == nil ? "pixel images (patch size \(configuration.patchSize)) have \(channels) channels" : "the VAE's latents have \(channels)")")
        }
        let factor = vae?.config.downscaleFactor ?? 1
        guard configuration.resolution % factor == 0 else {
            throw TrainingError("resolution \(configuration.resolution) is not a multiple of the VAE's factor \(factor)", parameter: "resolution")
        }
        let needed = DiffusionTrainer.workingBytes(model, configuration: configuration, sampleSize: configuration.resolution / (vae == nil ? configuration.patchSize : factor))
        if let available = GenerationMemory.availableBytes(), needed > available {
            throw TrainingError("batchSize \(configuration.batchSize) at \(configuration.resolution)² would need about \(GenerationMemory.describe(needed)) "
                                + "of memory; \(GenerationMemory.describe(available)) is available (use gradientAccumulation for larger batches)",
                                parameter: "batchSize")
        }
        var trainedTextEncoder: CLIPPromptEncoder? = nil
        if configuration.loraTextEncoder == true {
            guard let clip = textEncoder as? CLIPPromptEncoder, model.contextDimension != nil else {
                throw TrainingError("`loraTextEncoder` adapts a CLIP text encoder; this model's is \(textEncoder.map { $0.kind } ?? "absent")",
                                    parameter: "loraTextEncoder")
            }
            // Its layers are read by the `Variable` path, which takes plain (or float16) weights.
            clip.model.packLinearWeights(false)
            trainedTextEncoder = clip
        }
        if let rank = configuration.loraRank {
            let adapters = try LoRANetwork(unet: model, textEncoder: trainedTextEncoder?.model, rank: rank,
                                           alpha: configuration.loraAlpha ?? Float(rank),
                                           targets: try LoRATrainingTargets(configuration.loraTargets ?? "attention"), seed: configuration.seed)
            adapters.install()
            lora = adapters
        } else {
            lora = nil
        }
        self.trainedTextEncoder = trainedTextEncoder
        self.unet = unet
        self.textEncoder = model.contextDimension == nil ? nil : textEncoder
        self.vae = vae
        self.schedulerConfig = schedulerConfig
        self.export = export
        self.data = TrainingData(dataset: dataset, seed: configuration.seed, flip: configuration.randomFlip,
                                 captionDropout: model.contextDimension == nil ? 0 : configuration.captionDropout,
                                 keywordCaptions: model.contextDimension == nil ? 0 : configuration.keywordCaptions ?? 0,
                                 captionTemplates: model.contextDimension == nil ? 0 : configuration.captionTemplates ?? 0)
        self.configuration = configuration
        self.output = output
        objective = try DiffusionObjective(schedulerConfig: schedulerConfig, minSNRGamma: configuration.minSNRGamma,
                                           offsetNoise: configuration.offsetNoise)
        prompts = trainedTextEncoder == nil ? self.textEncoder.map { PromptCache(encoder: $0) } : nil
        data.skipBadFiles = configuration.skipBadFiles
    }

    var checkpointDirectory: URL { output.appendingPathComponent("checkpoints") }

    /// Trains up to `configuration.steps` optimizer steps.
    ///
    /// - Parameters:
    ///   - resume: continue from the newest complete checkpoint in the output folder (a fresh start
    ///     when there is none). Without it, an output folder that already has checkpoints is refused.
    ///   - events: called on the training thread; return `false` from a `.step` event to stop
    ///     after writing a checkpoint, or from an `.encoding` event to stop before the first step.
    /// - Returns: the final trainer state.
    @discardableResult
    public func run(resume: Bool, events: (TrainingEvent) -> Bool = { _ in true }) throws -> TrainerState {
        let fm = FileManager.default
        try fm.createDirectory(at: output, withIntermediateDirectories: true)
        // What trains: the LoRA factors, or the whole UNet.
        let model: any Module = (lora as (any Module)?) ?? unet.module
        let parameters = model.namedParameters()
        let optimizer = AdamW(beta1: configuration.adamBeta1, beta2: configuration.adamBeta2, epsilon: configuration.adamEpsilon,
                              weightDecay: configuration.weightDecay)
        var ema = configuration.useEMA ? ExponentialMovingAverage(model, maxDecay: configuration.emaMaxDecay, useWarmup: configuration.emaWarmup,
                                                                   power: configuration.emaPower) : nil
        var random = TrainingRandom(seed: configuration.seed)
        var state = TrainerState(step: 0, epoch: 0, position: 0, randomState: "", emaStep: 0, losses: [], trainingSeconds: 0)

        let configURL = output.appendingPathComponent("training.json")
        TrainingCheckpoint.removeUnfinished(in: checkpointDirectory)
        TrainingCheckpoint.removeUnfinished(in: output)
        if let newest = TrainingCheckpoint.newest(in: checkpointDirectory) {
            guard resume else {
                throw TrainingError("\(output.path) already holds a training run (\(newest.lastPathComponent)); set `resume` to continue it or choose another `output` folder")
            }
            if let data = fm.contents(atPath: configURL.path), let saved = try? JSONDecoder().decode(TrainingConfiguration.self, from: data),
               let mismatch = configuration.resumeMismatch(with: saved) {
                throw TrainingError("cannot resume \(output.path): \(mismatch)")
            }
            let (folder, checkpoint) = try TrainingCheckpoint.newestReadable(in: checkpointDirectory) { folder, error, older in
                _ = events(.message("cannot read \(folder.lastPathComponent) (\(error)); falling back to \(older.lastPathComponent)"))
            }
            try restore(checkpoint, parameters: parameters, optimizer: optimizer, ema: &ema, random: &random)
            state = checkpoint.state
            _ = events(.message("resuming from \(folder.lastPathComponent) (step \(state.step) of \(configuration.steps))"))
        }
        TrainingCheckpoint.prune(in: checkpointDirectory, keep: configuration.keepCheckpoints)
        try FileIO.writeAtomically(try Self.encoder.encode(configuration), to: configURL)
        if state.step >= configuration.steps {
            _ = events(.message("already trained \(state.step) steps (steps \(configuration.steps)); nothing to do"))
            return state
        }

        if let prompts {
            let captions = data.possibleCaptions
            _ = events(.message("encoding \(Set(captions).count) captions with the \(prompts.encoder.kind)"))
            guard prompts.warm(captions, progress: { events(.encoding(done: $0, total: $1)) }) else { return state }
        }

        let schedule = LearningRateSchedule(peak: configuration.learningRate, warmupSteps: configuration.warmupSteps,
                                            shape: LearningRateSchedule.Shape(rawValue: configuration.learningRateSchedule)!,
                                            totalSteps: configuration.steps)
        unet.gradientCheckpointing = configuration.gradientCheckpointing
        model.beginTraining()
        defer { model.endTraining() }
        let sessionStart = Date()
        let startStep = state.step
        let priorSeconds = state.trainingSeconds
        var smoothed = state.losses.last ?? 0
        let imagesPerStep = configuration.batchSize * configuration.gradientAccumulation

        while state.step < configuration.steps {
            let learningRate = schedule.rate(at: state.step)
            var lossSum: Float = 0
            try OneDNNConvolution.$algorithm.withValue(configuration.convolutions) {
                for _ in 0 ..< configuration.gradientAccumulation {
                    let loss = try microBatchLoss(random: &random)
                    lossSum += loss.item
                    let scaled = configuration.gradientAccumulation > 1 ? loss * (1 / Float(configuration.gradientAccumulation)) : loss
                    scaled.backward()
                }
            }
            var gradients: [String: Tensor] = [:]
            for (key, gradient) in model.gradients() { gradients[key] = gradient }
            let norm: Double
            if let maxNorm = configuration.maxGradientNorm {
                let clipped = GradientClipping.clipped(gradients, maxNorm: maxNorm)
                gradients = clipped.gradients
                norm = clipped.norm
            } else {
                norm = GradientClipping.globalNorm(gradients.values)
            }
            // A non-finite loss or gradient would make every weight NaN: stop before the update,
            // leaving the newest checkpoint as it is.
            if !lossSum.isFinite || !norm.isFinite {
                throw divergence(step: state.step + 1, learningRate: learningRate,
                                 what: lossSum.isFinite ? "the gradient norm is \(norm)" : "the loss is \(lossSum / Float(configuration.gradientAccumulation))")
            }
            optimizer.update(parameters, gradients: gradients, learningRate: Float(learningRate))
            model.zeroGradients()
            ema?.update(from: model)

            for warning in data.warnings { _ = events(.message(warning)) }
            data.warnings.removeAll()
            state.step += 1
            let loss = lossSum / Float(configuration.gradientAccumulation)
            state.losses.append(loss)
            smoothed = state.step == 1 ? loss : 0.95 * smoothed + 0.05 * loss
            let elapsed = Date().timeIntervalSince(sessionStart)
            let perStep = elapsed / Double(state.step - startStep)
            let keepGoing = events(.step(TrainingProgress(
                step: state.step, totalSteps: configuration.steps, loss: loss, smoothedLoss: smoothed, learningRate: learningRate,
                imagesPerSecond: Double((state.step - startStep) * imagesPerStep) / Swift.max(elapsed, 1e-9), elapsed: elapsed,
                eta: perStep * Double(configuration.steps - state.step))))

            let last = state.step == configuration.steps || !keepGoing
            if state.step % configuration.checkpointEvery == 0 || last {
                state.epoch = data.order.epoch
                state.position = data.order.position
                state.randomState = String(random.state)
                state.emaStep = ema?.optimizationStep ?? 0
                state.trainingSeconds = priorSeconds + Date().timeIntervalSince(sessionStart)
                if !GradientClipping.globalNorm(parameters.map { $0.parameter.value }).isFinite {
                    let key = parameters.first { !GradientClipping.globalNorm([$0.parameter.value]).isFinite }?.key ?? ""
                    throw divergence(step: state.step, learningRate: learningRate, what: "weight \(key) is not finite")
                }
                let folder = try saveCheckpoint(state, parameters: parameters, optimizer: optimizer, ema: ema)
                _ = events(.checkpoint(folder))
            }
            let sampleNow = configuration.sampleEvery > 0 && state.step % configuration.sampleEvery == 0
            if !configuration.samplePrompts.isEmpty && (sampleNow || last) {
                let url = try writeSamples(step: state.step, ema: ema)
                _ = events(.samples(url))
            }
            if !keepGoing { break }
        }
        return state
    }

    /// The error that stops a diverged run: the step, what went non-finite, the learning rate,
    /// and the checkpoint that is kept.
    private func divergence(step: Int, learningRate: Double, what: String) -> TrainingError {
        let kept = TrainingCheckpoint.newest(in: checkpointDirectory).map { "\($0.lastPathComponent) is kept" } ?? "no checkpoint was written"
        return TrainingError("training diverged at step \(step): \(what) (learningRate \(String(format: "%.3g", learningRate))); "
                             + "stopped without saving it, \(kept); resume with a lower learningRate", parameter: "learningRate")
    }

    /// A rough upper estimate of a training step's working memory in bytes: the inference
    /// estimate of the UNet's activations (`GenerationMemory.unetFloats`) for the batch, times
    /// `tapeFactor` for the tape of activations and gradients the backward pass keeps (a third
    /// of it with gradient checkpointing), plus the batch's images.
    static func workingBytes(_ unet: any NoisePredictor, configuration c: TrainingConfiguration, sampleSize: Int) -> Double {
        let perSample = GenerationMemory.unetFloats(unet, height: sampleSize, width: sampleSize)
        let factor = c.gradientCheckpointing ? tapeFactor / 3 : tapeFactor
        return 4 * Double(c.batchSize) * (factor * perSample + 2 * 3 * Double(c.resolution) * Double(c.resolution))
    }

    /// How many times the inference activations a training step's tape holds (set so that the
    /// estimate covers measured peak resident memory per image).
    static let tapeFactor = 3.0

    /// One micro-batch: data, noise, forward, loss (not yet backpropagated).
    private func microBatchLoss(random: inout TrainingRandom) throws -> Variable {
        let (pixels, captions) = try data.nextBatch(configuration.batchSize, random: &random)
        var clean = pixels.spaceToDepth(configuration.patchSize)
        if let vae {
            let distribution = vae.encode(pixels)
            clean = distribution.sample(noise: random.normal(distribution.mean.shape)) * vae.config.scalingFactor
        }
        let batch = objective.batch(clean: clean, random: &random)
        let prediction: Variable
        if let clip = trainedTextEncoder {
            // The adapted encoder on `Variable`s: the loss's gradient reaches its adapters through the UNet's cross-attention.
            let states = clip.model(captions.map { clip.tokenizer.encode($0) }, as: Variable.self)
            prediction = unet.forward(Variable(batch.noisy), timesteps: batch.timesteps, tokenStates: states, pooled: nil)
        } else {
            var conditioning = prompts?.states(for: captions)
            if let prompts, let encoded = conditioning, let p = configuration.tokenDropout, p > 0 {
                conditioning = TokenDropout.apply(to: encoded, empty: prompts.states(for: [""]), captions: captions, probability: p,
                                                  keepingLast: configuration.pooledToken == true ? 1 : 0, random: &random).0
            }
            prediction = unet.forward(Variable(batch.noisy), timesteps: batch.timesteps, conditioning: conditioning)
        }
        return Variable.meanSquaredError(prediction, batch.target, sampleWeights: batch.weights)
    }

    private func restore(_ checkpoint: TrainingCheckpoint, parameters: [(key: String, parameter: Parameter)], optimizer: AdamW,
                         ema: inout ExponentialMovingAverage?, random: inout TrainingRandom) throws {
        for (key, parameter) in parameters {
            guard let tensor = checkpoint.weights[key] else { throw TrainingError("checkpoint weights lack \(key)") }
            guard tensor.shape == parameter.shape else {
                throw TrainingError("checkpoint weight \(key) is \(tensor.shape) but the model's is \(parameter.shape) (a different model configuration?)")
            }
            parameter.value = tensor
        }
        try optimizer.restore(tensors: checkpoint.optimizerTensors, metadata: checkpoint.optimizerMetadata)
        if let average = ema {
            guard let weights = checkpoint.emaWeights else { throw TrainingError("the checkpoint has no EMA weights but the run uses EMA") }
            try average.restore(weights: weights, optimizationStep: checkpoint.state.emaStep)
        }
        guard let state = UInt64(checkpoint.state.randomState) else {
            throw TrainingError("trainer_state.json: randomState \(checkpoint.state.randomState) is not a 64-bit integer")
        }
        random = TrainingRandom(state: state)
        data.restore(epoch: checkpoint.state.epoch, position: checkpoint.state.position)
    }

    private func saveCheckpoint(_ state: TrainerState, parameters: [(key: String, parameter: Parameter)], optimizer: AdamW,
                                ema: ExponentialMovingAverage?) throws -> URL {
        var weights: [String: Tensor] = [:]
        for (key, parameter) in parameters { weights[key] = parameter.value }
        let checkpoint = TrainingCheckpoint(state: state, weights: weights, emaWeights: ema?.weights,
                                            optimizerTensors: optimizer.stateTensors(), optimizerMetadata: optimizer.metadata)
        let folder = try checkpoint.write(in: checkpointDirectory)
        TrainingCheckpoint.prune(in: checkpointDirectory, keep: configuration.keepCheckpoints)
        if let lora {
            try lora.write(to: output.appendingPathComponent(LoRANetwork.fileName))
        } else {
            try export.write(to: output, weights: ema?.weights ?? weights)
        }
        try LossPlot.write(losses: state.losses, to: output.appendingPathComponent("loss.png"))
        return folder
    }

    /// A grid of samples (rows: prompts; columns: seeds 0 …) with the EMA weights, written to `samples/step-NNNNNN.png`.
    private func writeSamples(step: Int, ema: ExponentialMovingAverage?) throws -> URL {
        let trained: any Module = (lora as (any Module)?) ?? unet.module
        let parameters = trained.namedParameters()
        let saved = parameters.map { $0.parameter.value }
        if let ema { ema.copy(to: trained) }
        defer { for (i, p) in parameters.enumerated() { p.parameter.value = saved[i] } }
        let pipeline = DiffusionPipeline(textEncoder: textEncoder, unet: unet.module, vae: vae, schedulerConfig: schedulerConfig,
                                       name: output.lastPathComponent, patchSize: configuration.patchSize)
        let size = configuration.resolution
        var rows: [[PNGImage]] = []
        for prompt in configuration.samplePrompts {
            var request = GenerationRequest(prompt: prompt)
            request.sampler = configuration.sampleSampler
            request.steps = configuration.sampleSteps
            request.guidance = configuration.sampleGuidance
            request.width = size
            request.height = size
            var row: [PNGImage] = []
            for seed in 0 ..< configuration.samplesPerPrompt {
                request.seed = UInt64(seed)
                row += try Autograd.withoutRecording { try pipeline.generate(request) }
            }
            rows.append(row)
        }
        let folder = output.appendingPathComponent("samples")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(String(format: "step-%06d.png", step))
        try SampleGrid.image(rows: rows, minimumTile: 64).write(to: url)
        return url
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()
}
