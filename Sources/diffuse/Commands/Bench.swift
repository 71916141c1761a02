import ArgumentParser
import DiffuseAutograd
import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffusePipelines
import DiffuseSchedulers
import DiffuseTensor
import DiffuseTraining
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the tensor engine's kernels at Stable Diffusion's shapes.",
        discussion: """
        Prints, for each kernel, the median time over the repetitions, the rate in GFLOP/s and its \
        ratio to the machine's float32 ceiling (`--ceiling`, by default 169 GFLOP/s: numpy's 4096² \
        sgemm on the 2-core reference machine). Use DIFFUSE_THREADS to change the thread count, \
        DIFFUSE_CONV=im2col to run convolutions without oneDNN, and DIFFUSE_PROFILE=1 to print, for \
        the model-scale and training groups, where the time goes per tensor op.
        """
    )

    @Option(help: "Timed repetitions per kernel (after one warm-up run).")
    var repetitions = 5

    @Option(help: "The machine's practical float32 rate in GFLOP/s, for the ratio column.")
    var ceiling = 169.0

    @Option(help: "Attention query block (rows per task).")
    var queryBlock = 128

    @Option(help: "Attention key block (keys per online-softmax step of the OpenBLAS kernel; the fused kernels step through 256).")
    var keyBlock = 1024

    @Option(help: "A UNet config.json for the training group: one step = forward, MSE, backward, AdamW (e.g. configs/bench-small-unet.json, the model of ../shared/baselines/bench_train_small_unet.py).")
    var trainConfig: String?

    @Option(help: "Batch size of the training group.")
    var trainBatch = 32

    @Option(help: "Which groups to run: gemm, conv, attention, sd, image, train (comma-separated; sd and image run on --model, default the bundled model; train needs --train-config).")
    var only = "gemm,conv,attention"

    @OptionGroup(title: "Sampling of the image group (whole images from a prompt, at the first of --sizes)")
    var sampling: SamplingOptions

    @OptionGroup(title: "Model of the sd group (a Stable Diffusion folder, e.g. SD 1.5 shapes from tools/make_sd15_random.py)")
    var modelOptions: ModelOptions

    @Option(help: "Image sizes for the model-scale group (comma-separated, multiples of 8).")
    var sizes = "256,512"

    @Option(help: "Append one JSON line per model-scale and training measurement to this file ({\"engine\": \"diffuse\", \"work\", \"seconds\", \"runs\"}), for tools/bench_compare.py.")
    var json: String?

    func run() throws {
        try prepareEngine()
        guard repetitions > 0 else { throw ValidationError("--repetitions must be at least 1") }
        var groups = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        if modelOptions.model != nil && !groups.contains("image") { groups.insert("sd") }
        if trainConfig != nil { groups.insert("train") }
        let unknown = groups.subtracting(["gemm", "conv", "attention", "sd", "image", "train"])
        guard unknown.isEmpty else { throw ValidationError("unknown benchmark group(s): \(unknown.sorted().joined(separator: ", "))") }
        print("threads \(Parallel.threadCount), ceiling \(ceiling) GFLOP/s, median of \(repetitions)")
        print(String(repeating: "-", count: 78))
        var random = BenchRandom()
        if groups.contains("gemm") {
            for (m, k, n) in [(1024, 1024, 1024), (4096, 4096, 4096), (4096, 320, 1280), (1024, 640, 2560)] {
                let a = random.tensor([m, k]), b = random.tensor([k, n])
                report("gemm \(m)×\(k) · \(k)×\(n)", flops: 2 * Double(m * n * k)) { _ = a.matmul(b) }
            }
        }
        if groups.contains("conv") {
            for (c, h, co) in [(320, 64, 320), (640, 32, 640), (128, 256, 128)] {
                let x = random.tensor([1, c, h, h]), w = random.tensor([co, c, 3, 3]), bias = random.tensor([co])
                report("conv2d 3×3 1×\(c)×\(h)×\(h) → \(co)", flops: 2 * Double(co * c * 9 * h * h)) {
                    _ = x.conv2d(weight: w, bias: bias, padding: Padding2D(1))
                }
            }
        }
        if groups.contains("attention") {
            // Each shape with every attention kernel this CPU runs, back to back (AttentionKernel):
            // SD 1.5's self-attention at 64² latents (4096 tokens, 8 heads of 40), CLIP's causal
            // self-attention (batch 2 × 12 heads × 77 tokens × 64) and SD's cross-attention to the
            // prompt (batch 2 × 8 heads, 4096 queries × 77 keys × 40).
            for (batch, heads, queries, keys, dim, causal) in [(1, 8, 4096, 4096, 40, false), (2, 12, 77, 77, 64, true),
                                                               (2, 8, 4096, 77, 40, false)] {
                let q = random.tensor([batch, heads, queries, dim]), k = random.tensor([batch, heads, keys, dim])
                let v = random.tensor([batch, heads, keys, dim])
                for kernel in AttentionKernel.available {
                    report("attention \(batch)×\(heads) heads, \(queries)×\(keys) tokens of \(dim)\(causal ? ", causal" : ""), \(kernel)",
                           flops: 4 * Double(batch * heads * queries * keys * dim)) {
                        _ = Attention.scaledDotProduct(query: q, key: k, value: v, causal: causal, queryBlock: queryBlock,
                                                       keyBlock: keyBlock, kernel: kernel)
                    }
                }
            }
        }
        if groups.contains("train") {
            guard let trainConfig else { throw ValidationError("the train group needs --train-config") }
            try benchTraining(URL(fileURLWithPath: trainConfig), &random)
        }
        if groups.contains("sd") {
            try benchStableDiffusion(&random)
        }
        if groups.contains("image") {
            try benchImage()
        }
    }

    /// Whole images from the prompt "a red apple on a wooden table" to pixels, as `diffuse generate`
    /// makes them with the sampling options: the first (cold: the weights are decoded and packed at
    /// their first use) and then `repetitions` more on the loaded model (warm, as the server's).
    func benchImage() throws {
        guard let size = sizes.split(separator: ",").compactMap({ Int($0.trimmingCharacters(in: .whitespaces)) }).first else {
            throw ValidationError("--sizes gives no image size")
        }
        let start = Date()
        let pipeline = try modelOptions.load()
        let load = Date().timeIntervalSince(start)
        print(String(format: "%-44@ %9.2f s", "load \(try modelOptions.location().lastPathComponent)" as NSString, load))
        try record(["engine": "diffuse", "work": "load", "seconds": .double(load), "runs": .array([.double(load)]),
                    "threads": .number(Parallel.threadCount)])
        var request = GenerationRequest(prompt: "a red apple on a wooden table")
        sampling.apply(to: &request, for: pipeline)
        request.seed = 1
        request.width = size
        request.height = size
        do { try pipeline.validate(request) } catch let error as PipelineError { throw CLIError(error) }
        let label = "image \(size)², \(request.steps) step\(request.steps == 1 ? "" : "s"), guidance \(request.guidance)"
        var failure: Error?
        func image() { do { _ = try pipeline.generate(request) } catch { failure = error } }
        let t0 = Date()
        image()
        if let failure { throw failure }
        let cold = Date().timeIntervalSince(t0)
        print(String(format: "%-44@ %9.3f s", "\(label), first (cold)" as NSString, cold))
        try record(["engine": "diffuse", "work": .string("image_cold_\(size)"), "seconds": .double(cold), "runs": .array([.double(cold)]),
                    "threads": .number(Parallel.threadCount)])
        OpProfile.reset()
        var times: [Double] = []
        for _ in 0 ..< repetitions {
            let t = Date()
            image()
            times.append(Date().timeIntervalSince(t))
        }
        if let failure { throw failure }
        if OpProfile.enabled { print(OpProfile.report(total: times.reduce(0, +))) }
        let median = times.sorted()[times.count / 2]
        print(String(format: "%-44@ %9.3f s  (runs: %@)", "\(label), loaded (warm)" as NSString, median,
                     times.map { String(format: "%.2f", $0) }.joined(separator: ", ") as NSString))
        try record(["engine": "diffuse", "work": .string("image_warm_\(size)"), "seconds": .double(median),
                    "runs": .array(times.map(JSONValue.double)), "threads": .number(Parallel.threadCount)])
    }

    /// Text encoder (batch 2), one guided UNet step (batch 2) and a VAE decode at each size, as
    /// ../shared/baselines/bench_sd15_torch.py measures PyTorch.
    func benchStableDiffusion(_ random: inout BenchRandom) throws {
        let start = Date()
        let url = try modelOptions.location()
        let sd = try modelOptions.load()
        print(String(format: "%-44@ %9.2f s", "load \(url.lastPathComponent)" as NSString, Date().timeIntervalSince(start)))
        guard let encoder = sd.textEncoder else { throw CLIError("\(url.path) is an unconditional model; the SD benchmark needs a text encoder") }
        let prompts = ["a photograph of an astronaut riding a horse", ""]
        time("text encoder, batch 2", work: "text_encoder") { _ = encoder.encode(prompts) }
        let conditioning = encoder.encode(prompts.reversed())
        for size in sizes.split(separator: ",").compactMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
            let f = sd.vaeScaleFactor
            let latents = random.tensor([2, sd.unet.inputChannels, size / f, size / f])
            time("UNet step, batch 2, \(size)²", work: "unet_step_\(size)") { _ = sd.unet.predict(latents, timesteps: [500], conditioning: conditioning) }
            let z = random.tensor([1, sd.latentChannels, size / f, size / f])
            time("VAE decode, \(size)²", work: "vae_decode_\(size)") { _ = sd.decode(z) }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peak = Double(usage.ru_maxrss) / 1_048_576
        print(String(format: "peak resident memory %.2f GB", peak))
        try record(["engine": "diffuse", "work": "peak_memory_gb", "value": .double(peak)])
    }

    /// Appends one JSON line to `--json` (when given).
    func record(_ fields: [String: JSONValue]) throws {
        guard let json else { return }
        let url = URL(fileURLWithPath: json)
        let line = Data((JSONValue.object(sorting: fields).serialized + "\n").utf8)
        if !FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CLIError("cannot create \(url.path)")
            }
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    /// Training steps of a from-scratch UNet on random images in [-1, 1] (as the PyTorch baseline:
    /// DDPM noise at random timesteps, ε target, MSE, backward, AdamW lr 1e-4, weight decay 1e-2).
    func benchTraining(_ url: URL, _ random: inout BenchRandom) throws {
        let unet = try TrainableUNet(config: ModelConfig(contentsOf: url))
        unet.initializeWeights(seed: 0)
        let model = unet.module
        let size = model.nativeSampleSize ?? 32
        let objective = try DiffusionObjective(schedulerConfig: SchedulerConfig(values: ["num_train_timesteps": 1000]))
        let clean = random.tensor([trainBatch, model.inputChannels, size, size]).clamped(-1, 1)
        // A conditional UNet attends to 25 random token states (the bundled model's prompt length
        // plus one) and, with a class embedding, takes random pooled embeddings.
        let conditioning = model.contextDimension.map { width in
            PromptEmbedding(tokens: random.tensor([trainBatch, 25, width]),
                            pooled: model.pooledDimension.map { random.tensor([trainBatch, $0]) })
        }
        var noise = TrainingRandom(seed: 1)
        let optimizer = AdamW()
        let parameters = model.namedParameters()
        model.beginTraining()
        defer { model.endTraining() }
        var seconds: Double = 0
        // As `diffuse train` runs it: Winograd 3×3 convolutions (DIFFUSE_CONV_ALG=direct for the direct ones).
        OneDNNConvolution.$algorithm.withValue(.winograd) {
            let label = "train step \(unet.className) (\(model.parameterCount.formatted()) params), batch \(trainBatch) at \(size)², "
                + (OneDNNConvolution.effectiveAlgorithm != .direct ? (WinogradConvolution.isActive ? "Diffuse's Winograd convolutions" : "oneDNN's Winograd convolutions where it has them") : "direct convolutions")
            time(label, work: "train_step_b\(trainBatch)_\(size)") {
                let start = Date()
                let batch = objective.batch(clean: clean, random: &noise)
                let loss = Variable.meanSquaredError(unet.forward(Variable(batch.noisy), timesteps: batch.timesteps, conditioning: conditioning), batch.target)
                loss.backward()
                var gradients: [String: Tensor] = [:]
                for (key, g) in model.gradients() { gradients[key] = g }
                optimizer.update(parameters, gradients: gradients, learningRate: 1e-4)
                model.zeroGradients()
                seconds = Date().timeIntervalSince(start)
            }
        }
        print(String(format: "  last step %.2f s = %.1f images/s", seconds, Double(trainBatch) / seconds))
    }

    /// Median wall time of `repetitions` runs after a warm-up (fewer for slow work).
    func time(_ name: String, work: String? = nil, _ body: () -> Void) {
        let t0 = Date()
        body()
        let first = Date().timeIntervalSince(t0)
        let reps = first > 5 ? Swift.min(repetitions, 2) : repetitions
        var times: [Double] = []
        OpProfile.reset()
        for _ in 0 ..< reps {
            let t = Date()
            body()
            times.append(Date().timeIntervalSince(t))
        }
        if OpProfile.enabled { print(OpProfile.report(total: times.reduce(0, +))) }
        let median = times.sorted()[times.count / 2]
        print(String(format: "%-44@ %9.3f s  (runs: %@)", name as NSString, median,
                     times.map { String(format: "%.2f", $0) }.joined(separator: ", ") as NSString))
        if let work {
            do { try record(["engine": "diffuse", "work": .string(work), "seconds": .double(median), "runs": .array(times.map(JSONValue.double)),
                              "threads": .number(Parallel.threadCount)]) }
            catch { FileHandle.standardError.write(Data("warning: --json: \(error)\n".utf8)) }
        }
    }

    func report(_ name: String, flops: Double, _ body: () -> Void) {
        body()  // warm-up
        var times: [Double] = []
        for _ in 0 ..< repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let median = times.sorted()[times.count / 2]
        let rate = flops / median / 1e9
        let line = String(format: "%-44@ %9.2f ms %8.1f GFLOP/s %5.0f%%", name as NSString, median * 1e3, rate, 100 * rate / ceiling)
        print(line)
    }
}

/// Uniform values in [-1, 1) from SplitMix64, for benchmark inputs.
struct BenchRandom {
    var state: UInt64 = 0x1234_5678
    mutating func tensor(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0 ..< n {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            values[i] = Float(Double((z ^ (z >> 31)) >> 40) / Double(1 << 24)) * 2 - 1
        }
        return Tensor(shape: shape, values)
    }
}
