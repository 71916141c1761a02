import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// The tiny random-weight pipelines made by tools/make_sd_fixtures.py, checked one component at
/// a time against diffusers' recorded outputs (relative L2 ≤ 1e-4).
@Suite struct ComponentParityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sd")

    struct Fixture {
        let folder: DiffusersFolder
        let reference: SafeTensorsFile

        init(_ name: String) throws {
            let url = ComponentParityTests.root.appendingPathComponent(name)
            folder = try DiffusersFolder(url)
            reference = try SafeTensorsFile(url: url.appendingPathComponent("reference/components.safetensors"))
        }

        func tensor(_ name: String) throws -> Tensor {
            let info = try reference.info(name)
            return Tensor(shape: info.shape, try reference.floats(name))
        }
    }

    /// Expects `‖a − b‖ / ‖b‖ ≤ tolerance` and prints the figures.
    static func expectMatch(_ actual: Tensor, _ expected: Tensor, _ label: String, tolerance: Double = 1e-4,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.shape == expected.shape, "\(label): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
        guard actual.shape == expected.shape else { return }
        let a = actual.scalars, b = expected.scalars
        var num = 0.0, den = 0.0, maxAbs = 0.0
        for i in 0 ..< a.count {
            let d = Double(a[i]) - Double(b[i])
            num += d * d; den += Double(b[i]) * Double(b[i]); maxAbs = max(maxAbs, abs(d))
        }
        let rel = (num / max(den, 1e-30)).squareRoot()
        print("[parity] \(label): relative L2 \(String(format: "%.3g", rel)), max abs \(String(format: "%.3g", maxAbs))")
        #expect(rel <= tolerance, "\(label): relative L2 \(rel) > \(tolerance)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["sd1", "sd2", "inpaint"])
    func textEncoder(_ name: String) throws {
        let f = try Fixture(name)
        let model = CLIPTextModel(config: try CLIPTextConfig(ModelConfig(contentsOf: f.folder.configURL("text_encoder"))))
        try model.load(from: CLIPTextModel.normalizedWeights(SafeTensorsWeights(f.folder.weightFiles("text_encoder"))),
                       ignoring: CLIPTextModel.ignoredKeys)
        let ids = try f.reference.floats("text_encoder.input_ids").map { Int($0) }
        let out = model([Array(ids[0 ..< 77]), Array(ids[77 ..< 154])])
        Self.expectMatch(out, try f.tensor("text_encoder.last_hidden_state"), "\(name) text encoder")
        // As the pipeline runs it: linear layers on packed weights (oneDNN's inner product).
        model.packLinearWeights()
        let packed = model([Array(ids[0 ..< 77]), Array(ids[77 ..< 154])])
        Self.expectMatch(packed, try f.tensor("text_encoder.last_hidden_state"), "\(name) text encoder, packed weights")
    }

    @Test(arguments: ["sd1", "sd2", "inpaint"])
    func unet(_ name: String) throws {
        let f = try Fixture(name)
        let model = UNet2DConditionModel(config: try UNet2DConditionConfig(ModelConfig(contentsOf: f.folder.configURL("unet"))))
        try model.load(from: SafeTensorsWeights(f.folder.weightFiles("unet")))
        let context = try f.tensor("unet.encoder_hidden_states")
        for call in ["t999", "t37", "odd"] {
            let t = try f.reference.floats("unet.\(call).timestep")
            let out = model(try f.tensor("unet.\(call).sample"), timesteps: t, encoderHiddenStates: context)
            Self.expectMatch(out, try f.tensor("unet.\(call).output"), "\(name) UNet \(call)")
        }
    }

    @Test(arguments: ["sd1", "sd2", "inpaint"])
    func vae(_ name: String) throws {
        let f = try Fixture(name)
        let model = AutoencoderKL(config: try AutoencoderKLConfig(ModelConfig(contentsOf: f.folder.configURL("vae"))))
        try model.load(from: SafeTensorsWeights(f.folder.weightFiles("vae")))
        let distribution = model.encode(try f.tensor("vae.encode.image"))
        Self.expectMatch(distribution.mean, try f.tensor("vae.encode.mean"), "\(name) VAE encode mean")
        Self.expectMatch(distribution.logVariance, try f.tensor("vae.encode.logvar"), "\(name) VAE encode logvar")
        Self.expectMatch(model.decode(try f.tensor("vae.decode.latents")), try f.tensor("vae.decode.output"), "\(name) VAE decode")
    }

    @Test func missingAndMisshapedTensorsAreNamed() throws {
        let f = try Fixture("sd1")
        let config = try UNet2DConditionConfig(ModelConfig(contentsOf: f.folder.configURL("unet")))
        let weights = try SafeTensorsWeights(f.folder.weightFiles("unet"))
        var tensors: [String: Tensor] = [:]
        for name in weights.tensorNames { tensors[name] = try weights.tensor(named: name) }
        tensors.removeValue(forKey: "conv_in.weight")
        tensors["conv_out.bias"] = Tensor.zeros([5])
        tensors["extra.weight"] = Tensor.zeros([1])
        do {
            try UNet2DConditionModel(config: config).load(from: TensorDictionary(name: "edited.safetensors", tensors))
            Issue.record("loading an incomplete checkpoint should fail")
        } catch let error as WeightLoadingError {
            #expect(error.missing == ["conv_in.weight"])
            #expect(error.mismatched.count == 1 && error.mismatched[0].contains("conv_out.bias"))
            #expect(error.unexpected == ["extra.weight"])
            #expect(error.description.hasPrefix("edited.safetensors: missing 1 tensor(s): conv_in.weight"))
        }
    }
}
