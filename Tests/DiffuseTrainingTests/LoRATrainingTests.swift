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

/// `diffuse train --lora-rank` on the tiny SD 1.x fixture: only the factors train (the UNet's
/// weights stay bit-identical, and float16 when loaded so); the kohya file it writes gives, through
/// `--lora` (merged), the image the trained adapters give in-process; a run stopped and resumed
/// ends with the uninterrupted run's factors, optimizer state and losses; bad LoRA flags are
/// one-line errors naming the flag.
@Suite(.serialized) struct LoRATrainingTests {
    static let sd1 = KillResumeTests.root.appendingPathComponent("Tests/Fixtures/sd/sd1")

    /// Runs `body` with a fresh temporary folder and `dataset(in:)` in it (both removed afterwards);
    /// with `needsBinary`, requires the built `diffuse` first.
    static func inWorkFolder(_ name: String, needsBinary: Bool = false, _ body: (_ work: URL, _ data: URL) throws -> Void) throws {
        if needsBinary { try #require(FileManager.default.isExecutableFile(atPath: CLIRun.binary.path), "\(CLIRun.binary.path) is missing") }
        let work = try TrainerTestSupport.temporaryFolder(name)
        defer { try? FileManager.default.removeItem(at: work) }
        try body(work, try dataset(in: work))
    }

    /// Four 32² captioned images.
    static func dataset(in work: URL) throws -> URL {
        let data = work.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try TrainerTestSupport.writeDataset([("a red apple", (220, 30, 40)), ("a blue sky", (40, 90, 230)),
                                             ("green grass", (30, 200, 60)), ("a horse", (150, 100, 60))], size: 32, to: data)
        return data
    }

    /// A LoRA trainer on the fixture's UNet (weights loaded at `precision`), CLIP text encoder and VAE.
    static func trainer(data: URL, output: URL, steps: Int, precision: WeightPrecision = .float32,
                        targets: String? = nil, textEncoder: Bool = false) throws -> DiffusionTrainer {
        let source = try DiffusersFolder(sd1)
        let unetConfig = try ModelConfig(contentsOf: source.configURL("unet"))
        let unet = try TrainableUNet(config: unetConfig)
        try unet.module.load(from: SafeTensorsWeights(source.weightFiles("unet")), precision: precision)
        let vae = AutoencoderKL(config: try AutoencoderKLConfig(ModelConfig(contentsOf: source.configURL("vae"))))
        try vae.load(from: SafeTensorsWeights(source.weightFiles("vae")))
        let scheduler = try SchedulerConfig(contentsOf: source.configURL("scheduler"))
        var c = TrainingConfiguration(steps: steps, batchSize: 2, resolution: 32)
        c.learningRate = 1e-2
        c.useEMA = false
        c.seed = 5
        c.checkpointEvery = 3
        c.keepCheckpoints = 10
        c.captionDropout = 0
        c.loraRank = 4
        c.loraAlpha = 8
        c.loraTargets = targets
        c.loraTextEncoder = textEncoder ? true : nil
        let export = ModelExport(unetClassName: unet.className, unetConfig: unetConfig.values, schedulerConfig: scheduler,
                                 textEncoder: .diffusers(folder: sd1), vaeSource: sd1)
        return try DiffusionTrainer(unet: unet, textEncoder: try DiffusionPipeline.loadTextEncoder(source, weights: precision), vae: vae,
                                    schedulerConfig: scheduler, export: export,
                                    dataset: ImageCaptionDataset(directory: data, size: 32), configuration: c, output: output)
    }

    static func maxDifference(_ a: PNGImage, _ b: PNGImage) throws -> Int {
        let x = try a.converted(toChannels: 3), y = try b.converted(toChannels: 3)
        return zip(x.pixels, y.pixels).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
    }

    /// How many weights of the fixture's UNet file belong to modules named `names` (as the suffix of the module name).
    static func unetKeys(endingWith names: [String]) throws -> Int {
        let file = try SafeTensorsFile(url: sd1.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        return file.tensorNames.filter { key in names.contains { key.hasSuffix("." + $0 + ".weight") } }.count
    }

    static let prompt = "a photograph of an astronaut riding a horse"

    static func request() -> GenerationRequest {
        var r = GenerationRequest(prompt: prompt)
        r.negativePrompt = "blurry"
        r.sampler = "ddim"
        r.steps = 4
        r.guidance = 7.5
        r.seed = 7
        r.width = 32
        r.height = 32
        return r
    }

    @Test func theTrainedFileThroughLoRAGivesTheInProcessAdaptersImage() throws {
        try Self.inWorkFolder("lora-train", needsBinary: true) { work, data in
            let output = work.appendingPathComponent("out")
            let train = try CLIRun.run(["train", "--data", data.path, "--output", output.path, "--model", Self.sd1.path,
                                        "--lora-rank", "4", "--lora-alpha", "8", "--steps", "3", "--batch-size", "2", "--lr", "1e-2",
                                        "--resolution", "32", "--seed", "3", "--caption-dropout", "0"])
            #expect(train.status == 0, "\(train.summary)")
            let file = output.appendingPathComponent(LoRANetwork.fileName)
            let tensors = try TrainerTestSupport.tensors(file)
            // One layer per attention projection of the fixture's UNet file (2 + 1 + 3 transformer blocks × 2 attentions × 4), 3 tensors each.
            let layers = try Self.unetKeys(endingWith: LoRATrainingTargets.attention)
            #expect(layers == 48 && tensors.count == 3 * layers)
            let ups = tensors.filter { $0.key.hasSuffix(".lora_up.weight") }
            #expect(ups.count == layers && ups.values.allSatisfy { $0.contains { $0 != 0 } }, "every up factor trained away from zero")
            #expect(tensors["lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha"] == [8])
            #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).allSatisfy { !$0.contains(".tmp") })

            // In process: the trained factors (from the last checkpoint) as adapters on a loaded pipeline.
            let pipeline = try DiffusionPipeline.load(folder: Self.sd1)
            let base = try pipeline.generate(Self.request())[0]
            let adapters = try LoRANetwork(unet: pipeline.unet, textEncoder: nil, rank: 4, alpha: 8, targets: LoRATrainingTargets("attention"), seed: 0)
            let checkpoint = try TrainerTestSupport.tensors(output.appendingPathComponent("checkpoints/checkpoint-000003/model.safetensors"))
            for (key, parameter) in adapters.namedParameters() {
                let values = try #require(checkpoint[key], "checkpoint lacks \(key)")
                parameter.value = Tensor(shape: parameter.shape, values)
            }
            adapters.install()
            let inProcess = try pipeline.generate(Self.request())[0]
            adapters.remove()

            // The file, merged by the loader, in process and through `diffuse generate --lora`.
            var request = Self.request()
            request.loras = [LoRAApplication(try pipeline.loadLoRA(file))]
            let merged = try pipeline.generate(request)[0]
            let png = work.appendingPathComponent("cli.png")
            let generate = try CLIRun.run(["generate", "--model", Self.sd1.path, "--prompt", Self.prompt, "--negative-prompt", "blurry",
                                           "--sampler", "ddim", "--steps", "4", "--guidance", "7.5", "--seed", "7", "--width", "32",
                                           "--height", "32", "--lora", file.path, "--output", png.path])
            #expect(generate.status == 0, "\(generate.summary)")
            let cli = try PNGImage(contentsOf: png)

            let change = try Self.maxDifference(base, inProcess)
            let mergedDiff = try Self.maxDifference(inProcess, merged)
            let cliDiff = try Self.maxDifference(inProcess, cli)
            print("[lora train] trained adapters change the image by up to \(change)/255; merged file vs in-process adapters: \(mergedDiff)/255; diffuse generate --lora vs in-process: \(cliDiff)/255")
            #expect(change >= 8, "the LoRA changes the image")
            #expect(mergedDiff <= 1)
            #expect(cliDiff <= 1)
        }
    }

    /// Also with text-encoder adapters (`textEncoder`): their factors and optimizer state are in
    /// the checkpoints too, and CLIP's own weights stay as loaded.
    @Test(arguments: [false, true]) func aStoppedAndResumedRunEndsAsTheUninterruptedOne(textEncoder: Bool) throws {
        try Self.inWorkFolder("lora-resume") { work, data in

            let whole = try Self.trainer(data: data, output: work.appendingPathComponent("whole"), steps: 6, textEncoder: textEncoder)
            let frozen = whole.unet.module.namedParameters() + ((whole.textEncoder as? CLIPPromptEncoder)?.model.namedParameters() ?? [])
            let before = frozen.map { $0.parameter.value.scalars }
            try whole.run(resume: false)
            let after = frozen.map { $0.parameter.value.scalars }
            #expect(before == after, "the UNet's and the text encoder's own weights are frozen")
            #expect(frozen.allSatisfy { $0.parameter.leaf == nil })
            let teKeys = try #require(whole.lora).namedParameters().filter { $0.key.hasPrefix("text_encoder.") }.count
            #expect(teKeys == (textEncoder ? 16 : 0))

            let first = try Self.trainer(data: data, output: work.appendingPathComponent("stopped"), steps: 6, textEncoder: textEncoder)
            try first.run(resume: false) { event in
                if case .step(let p) = event { return p.step < 4 }
                return true
            }
            #expect(TrainingCheckpoint.newest(in: work.appendingPathComponent("stopped/checkpoints"))?.lastPathComponent == "checkpoint-000004")
            let second = try Self.trainer(data: data, output: work.appendingPathComponent("stopped"), steps: 6, textEncoder: textEncoder)
            try second.run(resume: true)

            for file in ["model.safetensors", "optimizer.safetensors"] {
                let a = try TrainerTestSupport.tensors(work.appendingPathComponent("whole/checkpoints/checkpoint-000006/\(file)"))
                let b = try TrainerTestSupport.tensors(work.appendingPathComponent("stopped/checkpoints/checkpoint-000006/\(file)"))
                let difference = a.keys.reduce(Float(0)) { m, key in
                    zip(a[key]!, b[key] ?? []).reduce(m) { max($0, abs($1.0 - $1.1)) }
                }
                print("[lora train] text encoder \(textEncoder): resumed vs uninterrupted \(file): \(a.count) tensors, max difference \(difference)")
                #expect(!a.isEmpty && a.keys.sorted() == b.keys.sorted() && a.keys.allSatisfy { a[$0]! == b[$0]! }, "\(file) differs")
            }
            let fileA = try Data(contentsOf: work.appendingPathComponent("whole/\(LoRANetwork.fileName)"))
            let fileB = try Data(contentsOf: work.appendingPathComponent("stopped/\(LoRANetwork.fileName)"))
            #expect(fileA == fileB, "the LoRA files are byte-identical")
            let decoder = JSONDecoder()
            let stateA = try decoder.decode(TrainerState.self, from: Data(contentsOf: work.appendingPathComponent("whole/checkpoints/checkpoint-000006/trainer_state.json")))
            let stateB = try decoder.decode(TrainerState.self, from: Data(contentsOf: work.appendingPathComponent("stopped/checkpoints/checkpoint-000006/trainer_state.json")))
            #expect(stateA.losses == stateB.losses && stateA.losses.count == 6)
            #expect(stateA.randomState == stateB.randomState)
        }
    }

    @Test func float16BaseWeightsStayFloat16AndTheFeedForwardTargetsTrain() throws {
        try Self.inWorkFolder("lora-half") { work, data in
            let trainer = try Self.trainer(data: data, output: work.appendingPathComponent("out"), steps: 2, precision: .float16,
                                           targets: "attention+ff")
            let weights = trainer.unet.module.namedParameters().filter { $0.key.hasSuffix(".weight") && $0.parameter.shape.count >= 2 }
            let before = weights.map { $0.parameter.value.scalars }
            try trainer.run(resume: false)
            #expect(weights.allSatisfy { $0.parameter.isFloat16 }, "the frozen weights are still float16")
            #expect(weights.map { $0.parameter.value.scalars } == before)
            let lora = try #require(trainer.lora)
            let layers = try Self.unetKeys(endingWith: LoRATrainingTargets.attention + LoRATrainingTargets.feedForward)
            #expect(layers == 60 && lora.unet.adapters.count == layers && lora.unet.layerNames.contains { $0.hasSuffix("ff.net.2") })
            #expect(lora.unet.adapters.allSatisfy { $0.up.value.scalars.contains { $0 != 0 } })
        }
    }

    /// The fixture's files are float16, so float16 storage loses nothing: UNet and text-encoder
    /// adapters trained over float16 base weights (read again in the backward pass instead of
    /// kept as float32 copies on the tape) are bit-identical to those trained over float32 ones.
    @Test func float16BaseWeightsTrainTheSameFactorsAsFloat32Ones() throws {
        try Self.inWorkFolder("lora-half-same") { work, data in
            var factors: [[String: [Float]]] = []
            for precision in [WeightPrecision.float32, .float16] {
                let trainer = try Self.trainer(data: data, output: work.appendingPathComponent(precision.rawValue), steps: 2,
                                               precision: precision, textEncoder: true)
                try trainer.run(resume: false)
                let lora = try #require(trainer.lora)
                factors.append(Dictionary(uniqueKeysWithValues: lora.namedParameters().map { ($0.key, $0.parameter.value.scalars) }))
            }
            #expect(factors[0].count == 2 * (48 + 8))
            #expect(factors[0] == factors[1])
        }
    }

    @Test func badLoRAFlagsAreOneLineErrorsNamingTheFlag() throws {
        try Self.inWorkFolder("lora-bad", needsBinary: true) { work, data in
            let configURL = work.appendingPathComponent("unet.json")
            try KillResumeTests.config.write(to: configURL, atomically: true, encoding: .utf8)
            let common = ["train", "--data", data.path, "--output", work.appendingPathComponent("out").path, "--steps", "1", "--batch-size", "1",
                          "--resolution", "32"]
            for (arguments, needles) in [
                (["--model", Self.sd1.path, "--lora-rank", "0"], ["--lora-rank", "at least 1"]),
                (["--model", Self.sd1.path, "--lora-rank=-3"], ["--lora-rank", "at least 1"]),
                (["--model", Self.sd1.path, "--lora-rank", "33"], ["--lora-rank 33 is larger than the width of", "32 → 32"]),
                (["--model", Self.sd1.path, "--lora-rank", "4", "--lora-targets", "nothing_here"], ["--lora-targets", "names no linear layer"]),
                (["--model", Self.sd1.path, "--lora-rank", "4", "--lora-targets", "to_q,,to_v"], ["--lora-targets", "empty name"]),
                (["--model", Self.sd1.path, "--lora-rank", "4", "--lora-alpha", "0"], ["--lora-alpha", "positive"]),
                (["--model-config", configURL.path, "--lora-rank", "4"], ["--lora-rank needs --model"]),
                (["--model-config", configURL.path, "--lora-targets", "all-linear"], ["--lora-targets needs --model"]),
                (["--model", Self.sd1.path, "--lora-alpha", "4"], ["--lora-alpha needs --lora-rank"]),
                (["--model", Self.sd1.path, "--weights", "float16"], ["--weights float16", "--lora-rank"]),
                (["--model", Self.sd1.path, "--lora-text-encoder"], ["--lora-text-encoder needs --lora-rank"]),
            ] {
                let run = try CLIRun.run(common + arguments)
                #expect(run.failedCleanly(naming: needles[0]) && needles.allSatisfy { run.stderr.contains($0) }, "\(arguments): \(run.summary)")
            }
        }
    }
}
