import ArgumentParser
import DiffuseData
import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffusePipelines
import DiffuseSchedulers
import DiffuseTensor
import DiffuseTraining
import Foundation

/// Set to the signal's number by SIGINT / SIGTERM: the trainer finishes its step, writes a
/// checkpoint and stops; the command then exits with 128 + that number.
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a diffusion UNet on a folder of captioned images (from scratch or fine-tuning).",
        discussion: """
        The data folder holds NAME.png images with NAME.txt captions (or a metadata.jsonl with \
        file_name and text per line), as `diffuse dataset emoji` writes them. Images are resized and \
        center-cropped to --resolution.

        From scratch: --model-config is a diffusers UNet config.json (UNet2DConditionModel for \
        text-conditioned models, UNet2DModel for unconditional ones). A text-conditioned model needs \
        a text encoder: --text-encoder DIR (a sentence-transformers BERT folder such as \
        all-MiniLM-L6-v2, whose token states the UNet cross-attends to) or --model DIR (a Stable \
        Diffusion folder: its CLIP text encoder, and its VAE for latent training when the UNet has \
        the VAE's latent channels). Pixel-space models have in_channels 3.

        Fine-tuning: --model DIR without --model-config continues training that model's UNet, with \
        its text encoder, VAE and noise schedule. --init-from DIR with --model-config starts the \
        config's UNet from another trained model's UNet weights instead of from scratch; \
        parameters that model lacks (layers the config adds, such as a class embedding) start \
        fresh, a class embedding's output layer at zero so that the model first behaves as before.

        Pooled text conditioning: a UNet config with "class_embed_type": "projection" and \
        "projection_class_embeddings_input_dim": 384 also takes the sentence encoder's pooled \
        (mean, unit-length) embedding, added to the time embedding — a global summary of the \
        prompt that carries paraphrases better than the token states alone.

        Keywords: with --keyword-captions P, an image whose metadata.jsonl line lists "keywords" \
        is trained with one of them instead of its caption with probability P (diffuse dataset \
        emoji writes CLDR's keywords: "fruit" for the red apple). With --caption-templates P the \
        caption (or keyword) is, with probability P, wrapped in one of the sentences "a …", \
        "the …", "… emoji", "an emoji of a …", "a picture of a …", so that prompts typed with an \
        article or as a request still find what the model learned from bare names.

        LoRA: --model DIR with --lora-rank R trains only low-rank adapters on the UNet's linear \
        layers (by default to_q, to_k, to_v, to_out.0, as diffusers' train_text_to_image_lora.py; \
        --lora-targets attention+ff adds the feed-forward layers, all-linear every linear layer, or \
        give comma-separated module names); --lora-text-encoder also adapts the CLIP text encoder's \
        q_proj, k_proj, v_proj and out_proj (and mlp.fc1, mlp.fc2 with attention+ff); the model's \
        own weights stay frozen (and float16 with --weights float16). The output folder gets \
        pytorch_lora_weights.safetensors in kohya's \
        layout, which `diffuse generate --lora`, diffusers' load_lora_weights and AUTOMATIC1111 \
        read. LoRA training keeps no EMA.

        --steps is the total number of optimizer steps. Every --checkpoint-every steps the output \
        folder gets a checkpoint (weights, EMA weights, optimizer state, data order and random \
        state, in checkpoints/), an updated diffusers-layout model that `diffuse generate --model \
        OUTPUT` loads, and loss.png; every --sample-every steps a grid of samples for the \
        --sample-prompt texts (samples/). Ctrl-C (or SIGTERM) stops after the current step with a \
        checkpoint. --resume continues from the newest checkpoint — exactly where it was, even \
        after the process was killed — up to --steps.

        Examples:
          diffuse dataset emoji --output data/emoji
          diffuse train --data data/emoji --output runs/emoji --model-config configs/emoji-unet.json \\
              --text-encoder .deps/all-MiniLM-L6-v2 --steps 20000 --batch-size 32 --lr 2e-4 \\
              --sample-every 1000 --sample-prompt "red apple" --sample-prompt "cat face"
          diffuse train --data photos --output runs/ft --model sd15 --steps 1000 --batch-size 1 --lr 1e-5
          diffuse train --data photos --output runs/lora --model sd15 --lora-rank 4 --steps 1000 --batch-size 1 --lr 1e-4
        """
    )

    @Option(help: "Training images with captions.")
    var data: String

    @Option(help: "Output folder: the trained model, checkpoints/, samples/, loss.png.")
    var output: String

    @Option(help: "diffusers UNet config.json of a model to train from scratch.")
    var modelConfig: String?

    @Option(help: "Stable Diffusion diffusers folder: fine-tune its UNet, or lend its text encoder and VAE.")
    var model: String?

    @Option(help: "With --model-config: start from this trained model's UNet weights (new layers start fresh).")
    var initFrom: String?

    @Option(help: "Sentence-transformers BERT folder used as the text encoder (e.g. .deps/all-MiniLM-L6-v2).")
    var textEncoder: String?

    @Option(help: "Token states per prompt with --text-encoder ([CLS] + tokens + [SEP], padded).")
    var promptLength = 16

    @Option(help: "Total optimizer steps.")
    var steps: Int

    @Option(help: "Images per micro-batch.")
    var batchSize: Int

    @Option(help: "Micro-batches per optimizer step.")
    var gradientAccumulation = 1

    @Option(help: "Peak learning rate (AdamW).")
    var lr = 1e-4

    @Option(help: "Linear learning-rate warm-up steps.")
    var warmupSteps = 0

    @Option(help: "After the warm-up: constant or cosine.")
    var lrSchedule = "constant"

    @Option(help: "AdamW decoupled weight decay.")
    var weightDecay: Float = 1e-2

    @Option(help: "Clip the global gradient norm to this (0 = off).")
    var maxGradNorm = 1.0

    @Flag(help: "Do not keep an EMA of the weights (the model is exported with its raw weights).")
    var noEma = false

    @Option(help: "Largest EMA decay (reached after the warm-up).")
    var emaDecay = 0.9999

    @Option(help: "Random seed (data order, noise, timesteps, initial weights).")
    var seed: UInt64 = 0

    @Option(help: "Training image side in pixels (default: the UNet's sample_size × the VAE factor).")
    var resolution: Int?

    @Option(help: "Pixel models: fold p × p pixel blocks into channels (the UNet has 3·p² channels and runs at resolution / p).")
    var patchSize = 1

    @Flag(help: "Mirror images left–right at random.")
    var randomFlip = false

    @Option(help: "Probability of training with the empty caption (for classifier-free guidance).")
    var captionDropout = 0.1

    @OptionGroup(title: "Research switches (the bundled model's conditioning experiments; BENCHMARKS.md)")
    var research: ResearchOptions

    @Option(help: "min-SNR-γ loss weighting (e.g. 5); off by default.")
    var minSnrGamma: Double?

    @Option(help: "Offset noise strength (e.g. 0.05); 0 = off.")
    var offsetNoise: Float = 0

    @Option(help: "From scratch: linear, scaled_linear or squaredcos_cap_v2.")
    var noiseSchedule = "linear"

    @Option(help: "From scratch: what the UNet predicts: epsilon (the noise), v_prediction or sample (x₀).")
    var predictionType: DiffusionObjective.Prediction = .epsilon

    @Flag(help: "Recompute block activations during the backward pass (less memory, more time).")
    var gradientCheckpointing = false

    @Option(help: "How to compute the UNet's 3×3 convolutions: winograd (4× fewer multiplications for 3×3 stride-1 convolutions with channels in multiples of 16: oneDNN's kernels on AVX-512, Diffuse's own on AVX2; steps ~1.4–1.8× faster), direct, or automatic (Winograd only for convolutions with at least 512 output positions per call, as the Stable Diffusion UNet uses at inference).")
    var convAlgorithm = "winograd"

    @Option(help: "Write a checkpoint every K steps (and at the end).")
    var checkpointEvery = 500

    @Option(help: "Checkpoints to keep.")
    var keepCheckpoints = 2

    @Option(help: "Write a sample grid every K steps (0 = only at the end).")
    var sampleEvery = 0

    @Option(help: "A prompt for the sample grids (repeat for more rows).")
    var samplePrompt: [String] = []

    @Option(help: "Images per sample prompt.")
    var samplesPerPrompt = 4

    @Option(help: "Sampler for the sample grids.")
    var sampleSampler = "dpmpp_2m"

    @Option(help: "Denoising steps for the sample grids.")
    var sampleSteps = 20

    @Option(help: "Guidance scale for the sample grids.")
    var sampleGuidance: Float = 4

    @Flag(help: "Skip images without captions or that cannot be read (with a warning) instead of stopping.")
    var skipBadFiles = false

    @Flag(help: "Continue from the newest checkpoint in --output.")
    var resume = false

    @Option(help: "With --model: train a LoRA of this rank instead of the UNet's weights (writes OUTPUT/pytorch_lora_weights.safetensors).")
    var loraRank: Int?

    @Option(help: "LoRA alpha: the adapters' output is scaled by alpha / rank (default: the rank, scale 1).")
    var loraAlpha: Float?

    @Option(help: "Layers given LoRA adapters: attention (to_q, to_k, to_v, to_out.0), attention+ff, all-linear, or comma-separated module names.")
    var loraTargets: String?

    @Flag(help: "With --lora-rank: also train adapters on the CLIP text encoder (q_proj, k_proj, v_proj, out_proj; with --lora-targets attention+ff also mlp.fc1, mlp.fc2), written as lora_te_… keys.")
    var loraTextEncoder = false

    @Option(help: "With --lora-rank: keep the frozen UNet and text-encoder weights as float32 or float16 (half their memory, read again in the backward pass; see BENCHMARKS.md).")
    var weights: WeightPrecision = .float32

    func validate() throws {
        let loraFlag = loraRank != nil ? "--lora-rank" : loraAlpha != nil ? "--lora-alpha" : loraTargets != nil ? "--lora-targets"
            : loraTextEncoder ? "--lora-text-encoder" : nil
        if let loraFlag {
            if model == nil { throw ValidationError("\(loraFlag) needs --model (the Stable Diffusion folder whose UNet the LoRA adapts)") }
            if modelConfig != nil { throw ValidationError("\(loraFlag) adapts --model's UNet: it cannot be combined with --model-config") }
            if loraRank == nil { throw ValidationError("\(loraFlag) needs --lora-rank") }
        }
        if let loraRank, loraRank < 1 { throw ValidationError("--lora-rank must be at least 1 (got \(loraRank))") }
        if let loraAlpha, !(loraAlpha > 0 && loraAlpha.isFinite) { throw ValidationError("--lora-alpha must be a positive number (got \(loraAlpha))") }
        if weights == .float16 && loraRank == nil {
            throw ValidationError("--weights float16 keeps the frozen weights of LoRA training in float16: it needs --lora-rank")
        }
        if modelConfig == nil && model == nil { throw ValidationError("give --model-config (train from scratch) or --model (fine-tune)") }
        if textEncoder != nil && model != nil && modelConfig == nil {
            throw ValidationError("--text-encoder cannot replace the text encoder of a model being fine-tuned")
        }
        if initFrom != nil && modelConfig == nil { throw ValidationError("--init-from needs --model-config (the UNet to build)") }
        if research.pooledOnly && textEncoder == nil { throw ValidationError("--pooled-only needs --text-encoder (a sentence encoder)") }
        if research.pooledToken && textEncoder == nil { throw ValidationError("--pooled-token needs --text-encoder (a sentence encoder)") }
        if !["linear", "scaled_linear", "squaredcos_cap_v2"].contains(noiseSchedule) {
            throw ValidationError("--noise-schedule must be linear, scaled_linear or squaredcos_cap_v2 (got \(noiseSchedule))")
        }
        if !(2 ... 512).contains(promptLength) { throw ValidationError("--prompt-length must be in 2…512 (got \(promptLength))") }
    }

    func run() throws {
        do {
            try train()
        } catch let error as TrainingError {
            throw CLIError(error)
        } catch let error as CocoaError {
            throw CLIError(error)
        }
    }

    private func train() throws {
        try prepareEngine()
        let outputURL = URL(fileURLWithPath: output).standardizedFileURL
        try Self.prepareOutputFolder(outputURL)
        let source = try model.map { try DiffusersFolder(URL(fileURLWithPath: $0).standardizedFileURL) }

        // The network, its config and its noise schedule.
        let unetConfigURL = try modelConfig.map { URL(fileURLWithPath: $0) } ?? source!.configURL("unet")
        let unetConfig = try ModelConfig(contentsOf: unetConfigURL)
        let unet = try TrainableUNet(config: unetConfig)
        var schedulerConfig: SchedulerConfig
        if modelConfig == nil, let source {
            try unet.module.load(from: SafeTensorsWeights(source.weightFiles("unet")), precision: loraRank == nil ? .float32 : weights)
            schedulerConfig = try SchedulerConfig(contentsOf: source.configURL("scheduler"))
        } else {
            unet.initializeWeights(seed: seed)
            schedulerConfig = SchedulerConfig(values: [
                "_class_name": "DPMSolverMultistepScheduler", "num_train_timesteps": 1000, "beta_schedule": .string(noiseSchedule),
                "beta_start": .double(noiseSchedule == "scaled_linear" ? 0.00085 : 0.0001),
                "beta_end": .double(noiseSchedule == "scaled_linear" ? 0.012 : 0.02),
                "prediction_type": .string(predictionType.rawValue),
                // DDIM and DDPM clip their x₀ estimate to [-1, 1] by default; with v-prediction and
                // guidance that clip (x₀ clipped, the noise estimate not) wrecks pixel samples
                // at high noise (checked in diffusers too). The model's own sampler ignores it.
                "clip_sample": false,
            ])
            if let initFrom {
                // The weights come with their noise schedule and prediction type.
                let start = try DiffusersFolder(URL(fileURLWithPath: initFrom).standardizedFileURL)
                let fresh = try unet.module.load(from: SafeTensorsWeights(start.weightFiles("unet")), allowingMissing: true)
                schedulerConfig = try SchedulerConfig(contentsOf: start.configURL("scheduler"))
                print("starting from \(initFrom)'s UNet weights and noise schedule" + (fresh.isEmpty ? "" : "; new: \(fresh.joined(separator: ", "))"))
            }
        }

        // A fine-tuned pixel model keeps its patch size.
        let patch = modelConfig == nil ? (source?.patchSize ?? patchSize) : patchSize

        // Text encoder and VAE.
        var encoder: (any PromptEncoder)? = nil
        var encoderSource: ModelExport.TextEncoderSource? = nil
        var vae: AutoencoderKL? = nil
        if unet.module.contextDimension != nil {
            if let textEncoder {
                let folder = URL(fileURLWithPath: textEncoder).standardizedFileURL
                if research.pooledOnly && unet.module.pooledDimension == nil {
                    throw CLIError("--pooled-only needs a UNet config with \"class_embed_type\": \"projection\"")
                }
                encoder = SentencePromptEncoder(encoder: try SentenceEncoder(directory: folder), length: promptLength,
                                                pooledOnly: research.pooledOnly, pooledToken: research.pooledToken)
                encoderSource = .sentenceEncoder(folder: folder, length: promptLength)
            } else if let source {
                encoder = try DiffusionPipeline.loadTextEncoder(source, weights: loraRank == nil ? .float32 : weights)
                encoderSource = source.textEncoderPath != nil || !source.hasComponent("text_encoder")
                    ? .sentenceEncoder(folder: URL(fileURLWithPath: source.textEncoderPath!, relativeTo: source.root).standardizedFileURL,
                                       length: source.promptLength ?? promptLength)
                    : .diffusers(folder: source.root)
            } else {
                throw CLIError("\(unetConfigURL.path) describes a text-conditioned UNet: give --text-encoder DIR or --model DIR")
            }
        }
        // A fine-tuned model keeps its pooled token.
        let appendsPooledToken = research.pooledToken || (modelConfig == nil && source?.pooledToken == true)
        if research.tokenDropout > 0 && !appendsPooledToken && unet.module.pooledDimension == nil {
            throw CLIError("--token-dropout needs the pooled embedding to reach the UNet: give --pooled-token or a UNet config with \"class_embed_type\": \"projection\"")
        }
        if let source, source.components["vae"] != nil, unet.module.inputChannels != 3 * patch * patch {
            let autoencoder = AutoencoderKL(config: try AutoencoderKLConfig(ModelConfig(contentsOf: source.configURL("vae"))))
            try autoencoder.load(from: SafeTensorsWeights(source.weightFiles("vae")))
            vae = autoencoder
        }

        var config = TrainingConfiguration(
            steps: steps, batchSize: batchSize,
            resolution: resolution ?? (unet.module.nativeSampleSize ?? 32) * (vae?.config.downscaleFactor ?? patch))
        config.patchSize = patch
        config.gradientAccumulation = gradientAccumulation
        config.learningRate = lr
        config.warmupSteps = warmupSteps
        config.learningRateSchedule = lrSchedule
        config.weightDecay = weightDecay
        config.maxGradientNorm = maxGradNorm > 0 ? maxGradNorm : nil
        config.useEMA = !noEma && loraRank == nil
        config.loraRank = loraRank
        config.loraAlpha = loraAlpha
        config.loraTargets = loraTargets
        config.loraTextEncoder = loraTextEncoder ? true : nil
        config.emaMaxDecay = emaDecay
        config.seed = seed
        config.randomFlip = randomFlip
        config.captionDropout = captionDropout
        config.keywordCaptions = research.keywordCaptions > 0 ? research.keywordCaptions : nil
        config.captionTemplates = research.captionTemplates > 0 ? research.captionTemplates : nil
        config.initializedFrom = initFrom
        config.pooledOnly = research.pooledOnly ? true : nil
        config.pooledToken = appendsPooledToken ? true : nil
        config.tokenDropout = research.tokenDropout > 0 ? research.tokenDropout : nil
        config.minSNRGamma = minSnrGamma
        config.offsetNoise = offsetNoise
        config.gradientCheckpointing = gradientCheckpointing
        config.convolutionAlgorithm = convAlgorithm
        config.checkpointEvery = checkpointEvery
        config.keepCheckpoints = keepCheckpoints
        config.sampleEvery = sampleEvery
        config.samplePrompts = samplePrompt
        config.samplesPerPrompt = samplesPerPrompt
        config.sampleSampler = sampleSampler
        config.sampleSteps = sampleSteps
        config.sampleGuidance = sampleGuidance
        config.skipBadFiles = skipBadFiles
        do { try config.validate() } catch let error as TrainingError { throw ValidationError(CLIError(error).description) }
        if !samplePrompt.isEmpty {
            _ = try Schedulers.make(name: sampleSampler, config: schedulerConfig, steps: sampleSteps)
        }

        let dataset = try ImageCaptionDataset(directory: URL(fileURLWithPath: data), size: config.resolution, skipBadFiles: skipBadFiles)
        for (file, reason) in dataset.skipped { FileHandle.standardError.write(Data("warning: skipped \(file): \(reason)\n".utf8)) }
        var export = ModelExport(unetClassName: unet.className, unetConfig: unetConfig.values, schedulerConfig: schedulerConfig,
                                 textEncoder: encoderSource, vaeSource: vae == nil ? nil : source?.root)
        export.patchSize = patch
        export.pooledOnly = research.pooledOnly
        export.pooledToken = appendsPooledToken
        // The guidance its sample grids are drawn with is the one it is exported with.
        if encoder != nil { export.guidance = sampleGuidance }
        // A pixel model draws the size it was trained at (other sizes give frames and noise).
        if vae == nil { export.sizes = [DiffusersFolder.Size(width: config.resolution, height: config.resolution)] }
        let trainer = try DiffusionTrainer(unet: unet, textEncoder: encoder, vae: vae, schedulerConfig: schedulerConfig, export: export,
                                           dataset: dataset, configuration: config, output: outputURL)
        if let lora = trainer.lora {
            let layers = lora.parts.map { "\($0.adapters.count) linear layers of the \($0.component.rawValue)" }.joined(separator: " and ")
            print("training a rank-\(lora.rank) LoRA (alpha \(lora.alpha)) on \(layers): " +
                  "\(lora.parameterCount.formatted()) parameters, the UNet's \(unet.module.parameterCount.formatted()) frozen (\(weights.rawValue))")
        }
        print("training \(unet.className) (\(unet.module.parameterCount.formatted()) parameters) on \(dataset.count) images at \(config.resolution)², " +
              "\(vae == nil ? "pixel space" : "latent space"), batch \(batchSize)×\(gradientAccumulation), \(steps) steps → \(outputURL.path)")

        signal(SIGINT) { stopRequested = $0 }
        signal(SIGTERM) { stopRequested = $0 }
        // A parent may have started this process with them blocked (a supervisor, a test runner's thread).
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        let bar = TrainingProgressLine()
        let state = try trainer.run(resume: resume) { event in
            switch event {
            case .step(let p):
                bar.update(p)
                return stopRequested == 0
            case .checkpoint(let url):
                bar.note("checkpoint \(url.lastPathComponent) written; " + (trainer.lora == nil ? "model updated in \(outputURL.path)"
                    : "LoRA updated: \(outputURL.appendingPathComponent(LoRANetwork.fileName).path)"))
            case .samples(let url):
                bar.note("samples: \(url.path)")
            case .message(let text):
                bar.note(text)
            case .encoding:
                return stopRequested == 0
            }
            return true
        }
        bar.finish()
        // DIFFUSE_PROFILE=1: where the steps' time went, op by op (forward ops and backward nodes).
        if OpProfile.enabled { print(OpProfile.report()) }
        if stopRequested != 0 {
            let name = stopRequested == SIGTERM ? "SIGTERM" : "SIGINT"
            FileHandle.standardError.write(Data("stopped by \(name) at step \(state.step) of \(steps); continue with the same command and --resume\n".utf8))
            throw ExitCode(128 + stopRequested)
        } else {
            if trainer.lora != nil {
                print("trained \(state.step) steps; generate with: diffuse generate --model \(model!) --lora \((output as NSString).appendingPathComponent(LoRANetwork.fileName)) --prompt TEXT --output out.png")
            } else {
                print("trained \(state.step) steps; generate with: diffuse generate --model \(output) --prompt TEXT --output out.png")
            }
        }
    }

    /// Creates the output folder, or stops with one line naming it when it is a file or cannot be created.
    static func prepareOutputFolder(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CLIError("--output: \(url.path) is a file, not a folder") }
        } else {
            var ancestor = url.deletingLastPathComponent()
            while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) { ancestor.deleteLastPathComponent() }
            guard isDirectory.boolValue else { throw CLIError("--output: \(ancestor.path) is a file, so \(url.path) cannot be created") }
            do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch let error as CocoaError {
                throw CLIError(error)
            }
        }
        guard access(url.path, W_OK) == 0 else { throw CLIError("--output: the folder \(url.path) is not writable") }
    }
}

/// Training progress: a bar on a terminal (`step 120/5000 [###---] loss 0.041 (avg 0.045) 12.3 img/s
/// lr 1.0e-04 ETA 1h02m`), or a plain line every 30 seconds when standard error is not a terminal.
final class TrainingProgressLine {
    private let terminal = isatty(STDERR_FILENO) == 1
    private var lastLine = Date.distantPast
    private var lastStep = 0

    func update(_ p: TrainingProgress) {
        let width = 20
        let filled = width * p.step / Swift.max(p.totalSteps, 1)
        let text = String(format: "step %d/%d [%@%@] loss %.4f (avg %.4f)  %.1f img/s  lr %.1e  ETA %@", p.step, p.totalSteps,
                          String(repeating: "#", count: filled), String(repeating: "-", count: width - filled),
                          p.loss, p.smoothedLoss, p.imagesPerSecond, p.learningRate, Self.duration(p.eta))
        lastStep = p.step
        if terminal {
            FileHandle.standardError.write(Data(("\r" + text + "  ").utf8))
        } else if Date().timeIntervalSince(lastLine) >= 30 || p.step == p.totalSteps {
            lastLine = Date()
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    func note(_ text: String) {
        FileHandle.standardError.write(Data(((terminal && lastStep > 0 ? "\n" : "") + text + "\n").utf8))
    }

    func finish() { if terminal { FileHandle.standardError.write(Data("\n".utf8)) } }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}

extension CLIError {
    /// `diffuse train`'s flag for each `TrainingConfiguration` property (and trainer argument)
    /// that a training error may name.
    private static let trainingFlags = [
        "seed": "seed", "randomFlip": "random-flip", "pooledOnly": "pooled-only", "pooledToken": "pooled-token",
        "resume": "resume", "output": "output", "textEncoder": "text-encoder",
        "steps": "steps", "batchSize": "batch-size", "gradientAccumulation": "gradient-accumulation", "learningRate": "lr",
        "warmupSteps": "warmup-steps", "learningRateSchedule": "lr-schedule", "maxGradientNorm": "max-grad-norm",
        "emaMaxDecay": "ema-decay", "resolution": "resolution", "patchSize": "patch-size", "captionDropout": "caption-dropout",
        "keywordCaptions": "keyword-captions", "captionTemplates": "caption-templates", "tokenDropout": "token-dropout",
        "minSNRGamma": "min-snr-gamma", "checkpointEvery": "checkpoint-every", "keepCheckpoints": "keep-checkpoints",
        "sampleEvery": "sample-every", "samplesPerPrompt": "samples-per-prompt", "sampleSteps": "sample-steps",
        "convolutionAlgorithm": "conv-algorithm", "loraRank": "lora-rank", "loraAlpha": "lora-alpha", "loraTargets": "lora-targets",
        "loraTextEncoder": "lora-text-encoder",
    ]

    /// A training error with the settings it names as `diffuse train`'s flags: the setting at
    /// fault as a prefix (`batchSize` → `--batch-size: …`), and settings the message names in
    /// backticks in place (`` `batchSize` is 4 `` → `--batch-size is 4`; `useEMA` → `EMA (--no-ema)`).
    init(_ error: TrainingError) {
        var text = error.description.replacingOccurrences(of: "`useEMA`", with: "EMA (--no-ema)")
        for (property, flag) in Self.trainingFlags { text = text.replacingOccurrences(of: "`\(property)`", with: "--\(flag)") }
        let prefix = error.parameter.flatMap { Self.trainingFlags[$0] }.map { "--\($0)" }
        self.init(prefix.map { text.contains($0) ? text : "\($0): \(text)" } ?? text)
    }

    /// A Foundation file error as one line: the path and the reason.
    init(_ error: CocoaError) {
        let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError
        let reasons: [CocoaError.Code: String] = [
            .fileNoSuchFile: "no such file or folder", .fileReadNoSuchFile: "no such file or folder",
            .fileWriteNoPermission: "permission denied", .fileReadNoPermission: "permission denied",
            .fileWriteOutOfSpace: "no space left on the device", .fileWriteVolumeReadOnly: "read-only file system",
            .fileWriteFileExists: "already exists",
        ]
        let reason = underlying.flatMap { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : nil }
            ?? reasons[error.code] ?? "cannot be read or written (file error \(error.code.rawValue))"
        self.init(error.filePath.map { "\($0): \(reason)" } ?? reason)
    }
}
