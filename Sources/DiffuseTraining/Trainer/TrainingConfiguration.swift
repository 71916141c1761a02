import DiffuseTensor
import Foundation

/// Everything that determines a training run besides the data and the model. Saved as
/// `training.json` in the output folder; `--resume` refuses to continue a run whose settings
/// that matter for exact continuation (batch, accumulation, seed, objective) changed.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    /// Total optimizer steps.
    public var steps: Int
    /// Images per micro-batch.
    public var batchSize: Int
    /// Micro-batches per optimizer step (the effective batch is batchSize × this).
    public var gradientAccumulation = 1
    /// Peak learning rate.
    public var learningRate = 1e-4
    public var warmupSteps = 0
    /// "constant" or "cosine" (after the warm-up).
    public var learningRateSchedule = "constant"
    public var adamBeta1: Float = 0.9
    public var adamBeta2: Float = 0.999
    public var adamEpsilon: Float = 1e-8
    public var weightDecay: Float = 1e-2
    /// Clip the global gradient norm to this (nil = no clipping).
    public var maxGradientNorm: Double? = 1
    /// Keep an EMA of the weights; the exported model and the sample grids use it.
    public var useEMA = true
    public var emaMaxDecay = 0.9999
    public var emaWarmup = true
    public var emaPower = 2.0 / 3.0
    public var seed: UInt64 = 0
    /// Training image side in pixels (images are resized and center-cropped to it).
    public var resolution: Int
    /// Pixel models: fold f × f pixel blocks into channels (`spaceToDepth`), so the UNet (with
    /// 3·f² channels) runs at resolution / f — about f² less work per image. 1 = off.
    public var patchSize = 1
    public var randomFlip = false
    /// Probability of training on the empty caption instead of the real one.
    public var captionDropout = 0.1
    /// Probability of training on one of an image's keywords (metadata.jsonl `keywords`, chosen
    /// uniformly) instead of its caption; nil or 0 = always the caption. Optional so that the
    /// `training.json` of runs from before it existed still reads.
    public var keywordCaptions: Double? = nil
    /// Probability of wrapping the training caption in one of `CaptionTemplates.all` ("a red
    /// apple", "red apple emoji"); nil or 0 = never. Optional for older `training.json` files.
    public var captionTemplates: Double? = nil
    /// The prompt reaches the UNet only through the pooled embedding (`--pooled-only`); nil = false.
    public var pooledOnly: Bool? = nil
    /// The pooled embedding is also a token the UNet attends to (`--pooled-token`); nil = false.
    public var pooledToken: Bool? = nil
    /// Probability of training a (non-empty) caption with the empty prompt's token states but its
    /// own pooled embedding (`--token-dropout`); nil or 0 = never.
    public var tokenDropout: Double? = nil
    /// The model whose UNet weights the run started from (`--init-from`); nil = initialized from scratch.
    public var initializedFrom: String? = nil
    /// min-SNR-γ loss weighting; nil = off.
    public var minSNRGamma: Double? = nil
    public var offsetNoise: Float = 0
    /// Recompute block activations in the backward pass (less memory, ~30% more time).
    public var gradientCheckpointing = false
    /// How the UNet's 3×3 convolutions are computed (`--conv-algorithm`): "winograd" (nil, the
    /// default: oneDNN's kernels on AVX-512 CPUs, Diffuse's own on AVX2 ones; steps ~1.4× faster
    /// on AVX-512 and ~1.8× on AVX2 than direct) or "direct".
    public var convolutionAlgorithm: String? = nil
    /// Save a checkpoint every this many steps (and at the end).
    public var checkpointEvery = 500
    /// Checkpoints kept (older ones are deleted after a newer one is complete).
    public var keepCheckpoints = 2
    /// Write a sample grid every this many steps (0 = only at the end when prompts are given).
    public var sampleEvery = 0
    public var samplePrompts: [String] = []
    /// Images per sample prompt (seeds 0 ..< this).
    public var samplesPerPrompt = 4
    public var sampleSteps = 20
    public var sampleSampler = "dpmpp_2m"
    public var sampleGuidance: Float = 4
    /// Leave out unreadable images and images without captions (with a warning) instead of stopping.
    public var skipBadFiles = false
    /// Train a LoRA of this rank on the UNet's linear layers (`LoRANetwork`) instead of the UNet's
    /// own weights; nil = train the whole UNet.
    public var loraRank: Int? = nil
    /// The LoRA's alpha (scale = alpha / rank); nil = the rank (scale 1).
    public var loraAlpha: Float? = nil
    /// Which linear layers get an adapter (`LoRATrainingTargets`); nil = "attention".
    public var loraTargets: String? = nil
    /// Also train adapters on the CLIP text encoder's linear layers (`q_proj`, `k_proj`, `v_proj`,
    /// `out_proj` for the `attention` targets); the encoder then runs in every step instead of
    /// once per caption. nil = false (older `training.json` files read).
    public var loraTextEncoder: Bool? = nil

    /// `convolutionAlgorithm` as the value the tensor engine takes (Winograd when unset).
    public var convolutions: OneDNNConvolution.Algorithm {
        convolutionAlgorithm.flatMap(OneDNNConvolution.Algorithm.init(rawValue:)) ?? .winograd
    }

    public init(steps: Int, batchSize: Int, resolution: Int) {
        self.steps = steps
        self.batchSize = batchSize
        self.resolution = resolution
    }

    /// Checks ranges; the error names the property (`TrainingError.parameter`).
    public func validate() throws {
        func fail(_ message: String) throws -> Never {
            throw TrainingError(message, parameter: String(message.prefix { $0.isLetter || $0.isNumber }))
        }
        if steps < 1 { try fail("steps must be at least 1 (got \(steps))") }
        if batchSize < 1 { try fail("batchSize must be at least 1 (got \(batchSize))") }
        if gradientAccumulation < 1 { try fail("gradientAccumulation must be at least 1 (got \(gradientAccumulation))") }
        if !(learningRate > 0 && learningRate.isFinite) { try fail("learningRate must be a positive number (got \(learningRate))") }
        if warmupSteps < 0 { try fail("warmupSteps must not be negative (got \(warmupSteps))") }
        if LearningRateSchedule.Shape(rawValue: learningRateSchedule) == nil {
            try fail("learningRateSchedule must be constant or cosine (got \(learningRateSchedule))")
        }
        if let n = maxGradientNorm, !(n > 0) { try fail("maxGradientNorm must be positive (got \(n))") }
        if !(0 ..< 1).contains(emaMaxDecay) { try fail("emaMaxDecay must be in [0, 1) (got \(emaMaxDecay))") }
        if resolution < 8 || resolution % 8 != 0 { try fail("resolution must be a positive multiple of 8 (got \(resolution))") }
        if patchSize < 1 || resolution % patchSize != 0 { try fail("patchSize must divide resolution (got \(patchSize))") }
        if !(0 ... 1).contains(captionDropout) { try fail("captionDropout must be in [0, 1] (got \(captionDropout))") }
        if let p = keywordCaptions, !(0 ... 1).contains(p) { try fail("keywordCaptions must be in [0, 1] (got \(p))") }
        if let p = captionTemplates, !(0 ... 1).contains(p) { try fail("captionTemplates must be in [0, 1] (got \(p))") }
        if let p = tokenDropout, !(0 ... 1).contains(p) { try fail("tokenDropout must be in [0, 1] (got \(p))") }
        if let g = minSNRGamma, !(g > 0) { try fail("minSNRGamma must be positive (got \(g))") }
        if checkpointEvery < 1 { try fail("checkpointEvery must be at least 1 (got \(checkpointEvery))") }
        if keepCheckpoints < 1 { try fail("keepCheckpoints must be at least 1 (got \(keepCheckpoints))") }
        if sampleEvery < 0 { try fail("sampleEvery must not be negative (got \(sampleEvery))") }
        if samplesPerPrompt < 1 { try fail("samplesPerPrompt must be at least 1") }
        if sampleSteps < 1 { try fail("sampleSteps must be at least 1") }
        if let rank = loraRank, rank < 1 { try fail("loraRank must be at least 1 (got \(rank))") }
        if let alpha = loraAlpha, !(alpha > 0 && alpha.isFinite) { try fail("loraAlpha must be a positive number (got \(alpha))") }
        if loraRank == nil && (loraAlpha != nil || loraTargets != nil || loraTextEncoder == true) {
            try fail("\(loraAlpha != nil ? "loraAlpha" : loraTargets != nil ? "loraTargets" : "loraTextEncoder") needs loraRank")
        }
        if loraTextEncoder == true, let p = tokenDropout, p > 0 { try fail("loraTextEncoder cannot be combined with tokenDropout (a sentence encoder's)") }
        if loraRank != nil && useEMA { try fail("useEMA is off for LoRA training (as diffusers' train_text_to_image_lora.py): set it to false") }
        if let name = convolutionAlgorithm, OneDNNConvolution.Algorithm(rawValue: name) == nil {
            try fail("convolutionAlgorithm must be winograd, direct or automatic (got \(name))")
        }
    }

    /// The settings a resumed run must share with the run it continues (the others, such as
    /// `steps` or how often to checkpoint, may change): the first that differs, named as the
    /// property in backticks ("`batchSize` is 4 but the run being resumed used 8"), or nil.
    public func resumeMismatch(with saved: TrainingConfiguration) -> String? {
        let pairs: [(String, String, String)] = [
            ("batchSize", "\(batchSize)", "\(saved.batchSize)"),
            ("gradientAccumulation", "\(gradientAccumulation)", "\(saved.gradientAccumulation)"),
            ("seed", "\(seed)", "\(saved.seed)"),
            ("resolution", "\(resolution)", "\(saved.resolution)"),
            ("patchSize", "\(patchSize)", "\(saved.patchSize)"),
            ("randomFlip", "\(randomFlip)", "\(saved.randomFlip)"),
            ("captionDropout", "\(captionDropout)", "\(saved.captionDropout)"),
            ("keywordCaptions", "\(keywordCaptions ?? 0)", "\(saved.keywordCaptions ?? 0)"),
            ("captionTemplates", "\(captionTemplates ?? 0)", "\(saved.captionTemplates ?? 0)"),
            ("pooledOnly", "\(pooledOnly ?? false)", "\(saved.pooledOnly ?? false)"),
            ("pooledToken", "\(pooledToken ?? false)", "\(saved.pooledToken ?? false)"),
            ("tokenDropout", "\(tokenDropout ?? 0)", "\(saved.tokenDropout ?? 0)"),
            ("useEMA", "\(useEMA)", "\(saved.useEMA)"),
            ("loraRank", "\(loraRank.map(String.init) ?? "none")", "\(saved.loraRank.map(String.init) ?? "none")"),
            ("loraAlpha", "\(loraAlpha ?? Float(loraRank ?? 0))", "\(saved.loraAlpha ?? Float(saved.loraRank ?? 0))"),
            ("loraTargets", "\(loraTargets ?? "attention")", "\(saved.loraTargets ?? "attention")"),
            ("loraTextEncoder", "\(loraTextEncoder ?? false)", "\(saved.loraTextEncoder ?? false)"),
        ]
        for (name, now, before) in pairs where now != before {
            return "`\(name)` is \(now) but the run being resumed used \(before)"
        }
        return nil
    }
}
