import DiffuseAutograd
import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffusePipelines
import DiffuseTensor
import DiffuseTraining
import Foundation
import Testing

/// `diffuse train --lora-rank R --lora-text-encoder` on the tiny SD 1.x fixture: CLIP run on
/// `Variable`s computes what its fused inference path computes; the gradient reaching the text
/// encoder's adapters is the derivative of the loss (central differences along random
/// directions); a short run writes `lora_te_…` factors beside the UNet's that the loader reads
/// back into the same change of the encoder's output (CLIP's own weights staying as loaded and a
/// resumed run ending as an uninterrupted one are checked in `LoRATrainingTests`).
@Suite(.serialized) struct TextEncoderLoRATests {
    static let prompts = ["a photograph of an astronaut riding a horse", "a red apple"]

    /// The fixture's CLIP encoder (32 wide, 2 layers), loaded as generation loads it.
    static func clip() throws -> CLIPPromptEncoder {
        try #require(try DiffusionPipeline.loadTextEncoder(DiffusersFolder(LoRATrainingTests.sd1)) as? CLIPPromptEncoder)
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.contiguous().scalars, b.contiguous().scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// Adapters on `clip`'s attention projections with both factors random (PEFT's `up` starts
    /// at zero, which would hide the `down` gradient and the adapters' effect).
    static func randomAdapters(_ clip: CLIPPromptEncoder, targets: String = "attention") throws -> LoRAAdapters {
        let adapters = try LoRAAdapters(model: clip.model, component: .textEncoder, rank: 4, alpha: 8,
                                        targets: LoRATrainingTargets(targets), seed: 11)
        var random = TrainingRandom(seed: 12)
        for adapter in adapters.adapters { adapter.up.value = random.normal(adapter.up.shape) * 0.2 }
        return adapters
    }

    @Test func theVariablePathComputesTheInferencePathsStates() throws {
        let clip = try Self.clip()
        let ids = Self.prompts.map { clip.tokenizer.encode($0) }
        let fused = clip.model(ids)
        let variable = Autograd.withoutRecording { clip.model(ids, as: Variable.self).value }
        let plain = clip.encode(Self.prompts).tokens
        #expect(fused.shape == [2, 77, 32] && variable.shape == fused.shape)
        let base = Self.maxDifference(fused, variable)

        let adapters = try Self.randomAdapters(clip, targets: "attention+ff")
        adapters.install()
        defer { adapters.remove() }
        let adaptedFused = clip.model(ids)
        let adaptedVariable = Autograd.withoutRecording { clip.model(ids, as: Variable.self).value }
        let adapted = Self.maxDifference(adaptedFused, adaptedVariable)
        let change = Self.maxDifference(adaptedFused, fused)
        print("[te lora] Variable vs fused CLIP: \(base) (plain), \(adapted) (adapted); adapters change the states by up to \(change)")
        #expect(Self.maxDifference(plain, fused) == 0)
        #expect(base <= 2e-5 && adapted <= 2e-5)
        #expect(change >= 0.05, "the adapters change the states")
        #expect(adapters.adapters.count == 12, "2 layers × (q, k, v, out, fc1, fc2)")
    }

    /// Objective L = Σ R ⊙ CLIP(ids) with fixed random R; for each factor kind, the analytic
    /// ⟨∇L, v⟩ against (L(θ + h·v) − L(θ − h·v)) / 2h along random unit directions v over every
    /// adapter's factor of that kind at once.
    @Test func theAdaptersGradientIsTheLossDerivative() throws {
        let clip = try Self.clip()
        clip.model.packLinearWeights(false)
        let adapters = try Self.randomAdapters(clip)
        adapters.install()
        defer { adapters.remove() }
        let ids = Self.prompts.map { clip.tokenizer.encode($0) }
        var random = TrainingRandom(seed: 3)
        let weights = random.normal([2, 77, 32])
        func objective() -> Double {
            let states = Autograd.withoutRecording { clip.model(ids, as: Variable.self).value }.contiguous()
            return zip(states.scalars, weights.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }

        adapters.beginTraining()
        let states = clip.model(ids, as: Variable.self)
        Autograd.backward([states], gradients: [weights])
        let gradients = adapters.gradients()
        adapters.endTraining()
        #expect(gradients.count == 2 * adapters.adapters.count, "every factor gets a gradient")
        let byKey = Dictionary(uniqueKeysWithValues: gradients.map { ($0.key, $0.gradient) })

        let parameters = adapters.namedParameters()
        for kind in ["down", "up"] {
            let chosen = parameters.filter { $0.key.hasSuffix("." + kind) }
            for _ in 0 ..< 3 {
                let directions = chosen.map { random.normal($0.parameter.shape) }
                let norm = directions.reduce(0.0) { $0 + $1.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } }.squareRoot()
                let unit = directions.map { $0 * Float(1 / norm) }
                let analytic = zip(chosen, unit).reduce(0.0) { sum, pair in
                    zip(byKey[pair.0.key]!.scalars, pair.1.scalars).reduce(sum) { $0 + Double($1.0) * Double($1.1) }
                }
                let original = chosen.map { $0.parameter.value }
                let h: Float = 1e-2
                for (p, (value, v)) in zip(chosen, zip(original, unit)) { p.parameter.value = value + v * h }
                let plus = objective()
                for (p, (value, v)) in zip(chosen, zip(original, unit)) { p.parameter.value = value - v * h }
                let minus = objective()
                for (p, value) in zip(chosen, original) { p.parameter.value = value }
                let numeric = (plus - minus) / (2 * Double(h))
                let error = abs(analytic - numeric) / max(abs(numeric), 1e-3)
                print("[te lora] d/d\(kind) along a random direction: analytic \(analytic), central difference \(numeric), relative error \(error)")
                #expect(abs(numeric) > 0.05, "the direction moves the objective")
                #expect(error <= 2e-3, "\(kind): analytic \(analytic) vs numeric \(numeric)")
            }
        }
    }

    @Test func aShortRunTrainsTheTextEncoderAndTheLoaderReadsItBack() throws {
        try LoRATrainingTests.inWorkFolder("lora-te", needsBinary: true) { work, data in
            let output = work.appendingPathComponent("out")
            let train = try CLIRun.run(["train", "--data", data.path, "--output", output.path, "--model", LoRATrainingTests.sd1.path,
                                        "--lora-rank", "4", "--lora-alpha", "8", "--lora-text-encoder", "--steps", "3", "--batch-size", "2",
                                        "--lr", "1e-2", "--resolution", "32", "--seed", "3", "--caption-dropout", "0"])
            #expect(train.status == 0, "\(train.summary)")
            #expect(train.stdout.contains("on 48 linear layers of the UNet and 8 linear layers of the text encoder"), "\(train.stdout)")
            let file = output.appendingPathComponent(LoRANetwork.fileName)
            let tensors = try TrainerTestSupport.tensors(file)
            let te = tensors.filter { $0.key.hasPrefix("lora_te_") }
            #expect(te.count == 3 * 8 && tensors.count == 3 * (48 + 8))
            #expect(te.keys.contains("lora_te_text_model_encoder_layers_1_self_attn_out_proj.lora_down.weight"))
            #expect(te.filter { $0.key.hasSuffix(".lora_up.weight") }.values.allSatisfy { $0.contains { $0 != 0 } },
                    "every text-encoder up factor trained away from zero")

            // In process: the checkpoint's factors as adapters on the fixture's encoder.
            let reference = try Self.clip()
            let base = reference.encode(Self.prompts).tokens
            let network = try LoRANetwork(unet: try DiffusionPipeline.load(folder: LoRATrainingTests.sd1).unet, textEncoder: reference.model,
                                          rank: 4, alpha: 8, targets: LoRATrainingTargets("attention"), seed: 0)
            let checkpoint = try TrainerTestSupport.tensors(output.appendingPathComponent("checkpoints/checkpoint-000003/model.safetensors"))
            for (key, parameter) in network.namedParameters() {
                let values = try #require(checkpoint[key], "checkpoint lacks \(key)")
                parameter.value = Tensor(shape: parameter.shape, values)
            }
            network.install()
            let inProcess = reference.encode(Self.prompts).tokens
            network.remove()

            // The file, read by the loader and merged into a pipeline's text encoder.
            let pipeline = try DiffusionPipeline.load(folder: LoRATrainingTests.sd1)
            let encoder = try #require(pipeline.textEncoder)
            try pipeline.mergePermanently([LoRAApplication(try pipeline.loadLoRA(file))])
            let merged = encoder.encode(Self.prompts).tokens

            let change = Self.maxDifference(base, inProcess), mergedDiff = Self.maxDifference(inProcess, merged)
            print("[te lora] trained adapters change CLIP's states by up to \(change); merged file vs in-process adapters: \(mergedDiff)")
            #expect(change >= 0.01, "the text-encoder LoRA changes the encoder's output")
            #expect(mergedDiff <= 1e-4)

        }
    }
}
