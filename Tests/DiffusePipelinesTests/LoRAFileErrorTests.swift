import DiffuseFormats
import DiffuseModels
import DiffusePipelines
import Foundation
import Testing

/// Bad LoRA files: each is refused with one line naming the file and the key at fault, and
/// nothing is merged.
@Suite struct LoRAFileErrorTests {
    static let pipeline = try! LoRAParityTests.load()
    static let work: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-lora-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static let q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"   // [32, 32]

    /// Writes `tensors` (name → shape, filled with 0.01) to a new file and reads it as a LoRA.
    static func message(_ tensors: [(String, [Int])], alpha: Float? = nil) throws -> String {
        var entries = tensors.map { SafeTensorsWriter.Entry(name: $0.0, shape: $0.1, floats: Array(repeating: 0.01, count: $0.1.reduce(1, *))) }
        if let alpha { entries.append(.init(name: q + ".alpha", shape: [], floats: [alpha])) }
        let url = work.appendingPathComponent("bad-\(UUID().uuidString).safetensors")
        try SafeTensorsWriter.write(entries, to: url)
        return try error(url)
    }

    static func error(_ url: URL) throws -> String {
        do {
            _ = try pipeline.loadLoRA(url)
        } catch let error as LoRAError {
            let text = error.description
            #expect(text.hasPrefix(url.path + ": ") && !text.contains("\n"), "\(text)")
            return text
        }
        Issue.record("\(url.lastPathComponent) was accepted")
        return ""
    }

    @Test func keysThatMatchNoLayerAreNamed() throws {
        let text = try Self.message([(Self.q + ".lora_down.weight", [4, 32]), (Self.q + ".lora_up.weight", [32, 4]),
                                     ("lora_unet_down_blocks_9_attentions_0_proj_in.lora_down.weight", [4, 32]),
                                     ("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", [4, 32]),
                                     ("something_else", [1])])
        #expect(text.contains("3 of 5 tensors match no layer") && text.contains("lora_te2_") && text.contains("down_blocks_9")
                && text.contains("something_else"), "\(text)")
    }

    @Test func ranksThatDisagreeAreNamed() throws {
        let text = try Self.message([(Self.q + ".lora_down.weight", [4, 32]), (Self.q + ".lora_up.weight", [32, 8])])
        #expect(text.contains(Self.q + ".lora_up.weight: ranks disagree: lora_down has rank 4, lora_up 8"), "\(text)")
    }

    @Test func aMissingFactorIsNamed() throws {
        let text = try Self.message([(Self.q + ".lora_down.weight", [4, 32])])
        #expect(text.contains(Self.q + ".lora_down.weight: LoRA layer without its lora_up / lora_B tensor"), "\(text)")
    }

    @Test func factorsThatDoNotFitTheLayerAreNamed() throws {
        let text = try Self.message([(Self.q + ".lora_down.weight", [4, 48]), (Self.q + ".lora_up.weight", [32, 4])])
        #expect(text.contains("does not fit") && text.contains("to_q.weight [32, 32]"), "\(text)")
    }

    @Test func anAlphaThatIsNotANumberIsNamed() throws {
        let text = try Self.message([(Self.q + ".lora_down.weight", [4, 32]), (Self.q + ".lora_up.weight", [32, 4])], alpha: .nan)
        #expect(text.contains(Self.q + ".alpha: alpha must be one finite number"), "\(text)")
    }

    /// A `.scale` tensor is the whole scale (A1111, stable-diffusion.cpp), in place of alpha / rank.
    @Test func aScaleTensorReplacesAlphaOverRank() throws {
        let url = Self.work.appendingPathComponent("scaled-\(UUID().uuidString).safetensors")
        try SafeTensorsWriter.write([
            .init(name: Self.q + ".lora_down.weight", shape: [4, 32], floats: Array(repeating: 0.01, count: 128)),
            .init(name: Self.q + ".lora_up.weight", shape: [32, 4], floats: Array(repeating: 0.01, count: 128)),
            .init(name: Self.q + ".alpha", shape: [], floats: [1]), .init(name: Self.q + ".scale", shape: [], floats: [0.5]),
        ], to: url)
        let pipeline = try LoRAParityTests.load()
        let lora = try pipeline.loadLoRA(url)
        #expect(lora.layers.count == 1 && lora.layers[0].scale == 0.5)
        let parameter = lora.layers[0].target.parameter
        let before = parameter.value.scalars
        let merged = try MergedLoRAs([LoRAApplication(lora, multiplier: 2)])
        // Each entry of up · down is 4 · 0.01², times scale 0.5 and multiplier 2.
        let worst = zip(parameter.value.scalars, before).map { abs(($0 - $1) - 4e-4) }.max() ?? 1
        #expect(worst < 1e-7, "\(worst)")
        merged.restore()
        #expect(parameter.value.scalars == before)
        var text = try Self.message([(Self.q + ".lora_down.weight", [4, 32]), (Self.q + ".lora_up.weight", [32, 4]), (Self.q + ".scale", [2])])
        #expect(text.contains(Self.q + ".scale: scale must be one finite number, not a tensor of shape [2]"), "\(text)")
        text = try Self.message([(Self.q + ".lora_down.weight", [4, 32]), (Self.q + ".lora_up.weight", [32, 4])], alpha: .infinity)
        #expect(text.contains("alpha must be one finite number, not inf"), "\(text)")
    }

    @Test func aTruncatedFileIsRefused() throws {
        let data = try Data(contentsOf: LoRAParityTests.folder.appendingPathComponent("kohya.safetensors"))
        let url = Self.work.appendingPathComponent("truncated.safetensors")
        try data.prefix(data.count - 100).write(to: url)
        let text = try Self.error(url)
        #expect(text.contains("truncated"), "\(text)")
    }

    @Test func picklesAreRefusedWithAWayOut() throws {
        let url = Self.work.appendingPathComponent("old.ckpt")
        try Data("not read".utf8).write(to: url)
        let text = try Self.error(url)
        #expect(text.contains("convert it to .safetensors"), "\(text)")
    }

    @Test func unsupportedVariantsAreNamed() throws {
        var text = try Self.message([(Self.q + ".hada_w1_a", [32, 4]), (Self.q + ".hada_w1_b", [4, 32]), (Self.q + ".hada_w2_a", [32, 4]),
                                     (Self.q + ".hada_w2_b", [4, 32]), (Self.q + ".hada_t1", [4, 4, 1, 1])])
        #expect(text.contains("hada_t1") && text.contains("not supported"), "\(text)")
        // A CP core must be [rank, rank, kh, kw].
        text = try Self.message([(Self.q + ".lora_down.weight", [4, 32]), (Self.q + ".lora_up.weight", [32, 4]), (Self.q + ".lora_mid.weight", [2, 4, 1, 1])])
        #expect(text.contains("lora_mid has shape [2, 4, 1, 1], expected [4, 4, kh, kw]"), "\(text)")
    }

    @Test func theLoRAFolderFindsNamesAndRefusesPaths() throws {
        let directory = LoRADirectory(LoRAParityTests.folder)
        #expect(try directory.file(named: "kohya").lastPathComponent == "kohya.safetensors")
        // Subfolders are searched too, as A1111 does (reference/ holds more .safetensors files).
        let names = directory.loraFiles.map { $0.deletingPathExtension().lastPathComponent }
        #expect(Set(["attnproc", "kohya", "ldm", "locon", "loha", "lokr", "peft"]).isSubset(of: Set(names)), "\(names)")
        #expect(try directory.file(named: "kohya.weights").path.hasSuffix("reference/kohya.weights.safetensors"))
        for bad in ["../sd/sd1/unet/diffusion_pytorch_model", "missing", ""] {
            #expect(throws: PipelineError.self) { try directory.file(named: bad) }
        }
    }
}
