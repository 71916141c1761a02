import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffusePipelines
import Foundation
import Testing

/// SDXL LoRAs (tools/make_sdxl_fixtures.py) against diffusers' `load_lora_weights` + `set_adapters`
/// on the tiny SDXL folder: a kohya file (`lora_te1_`, `lora_te2_`, LDM-named `lora_unet_input_blocks_…`)
/// and a PEFT file (`unet.`, `text_encoder.`, `text_encoder_2.` with the adapter metadata), each
/// within 1/255 of diffusers' image; and LoRAs of the wrong family refused in one line.
@Suite(.serialized) struct SDXLLoRAParityTests {
    static let root = SDXLPipelineParityTests.root.appendingPathComponent("lora")

    struct Case: Decodable {
        var name: String
        var file: String
        var multiplier: Float
        var prompt: String
        var negative_prompt: String?
        var sampler: String
        var steps: Int
        var guidance: Float
        var seed: UInt64
        var width: Int
        var height: Int
        var outputs: [String]
    }

    struct Cases: Decodable { var cases: [Case] }

    static func cases() throws -> [Case] {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: root.appendingPathComponent("reference/pipelines.json"))).cases
    }

    @Test(arguments: ["lora_kohya", "lora_peft"])
    func imageMatchesDiffusers(_ name: String) throws {
        let c = try #require(try Self.cases().first { $0.name == name })
        let pipeline = try DiffusionPipeline.load(folder: SDXLPipelineParityTests.root.appendingPathComponent("base"))
        var request = GenerationRequest(prompt: c.prompt)
        request.negativePrompt = c.negative_prompt ?? ""
        request.sampler = c.sampler
        request.steps = c.steps
        request.guidance = c.guidance
        request.seed = c.seed
        request.width = c.width
        request.height = c.height
        let lora = try pipeline.loadLoRA(Self.root.appendingPathComponent(c.file))
        #expect(Set(lora.layers.map(\.target.component)).count == 3, "\(c.file) changes the UNet and both text encoders")
        request.loras = [LoRAApplication(lora, multiplier: c.multiplier)]
        let image = try pipeline.generate(request)[0]
        let expected = try PNGImage(contentsOf: Self.root.appendingPathComponent("reference/\(c.outputs[0])"))
        let diff = try PipelineParityTests.maxDifference(image, expected)
        print("[parity] sdxl \(name): max channel difference \(diff)/255")
        #expect(diff <= 1, "\(name): differs by \(diff)/255")
    }

    /// An SDXL LoRA on SD 1.x and an SD 1.x LoRA on SDXL: one line naming the file and the keys.
    @Test func otherFamiliesLoRAsAreRefused() throws {
        let sd1 = try DiffusionPipeline.load(folder: PipelineParityTests.root.appendingPathComponent("sd1"))
        let sdxl = try DiffusionPipeline.load(folder: SDXLPipelineParityTests.root.appendingPathComponent("base"))
        let cases = [(sd1, Self.root.appendingPathComponent("kohya.safetensors"), "match no layer of this model: lora_te2_"),
                     (sd1, Self.root.appendingPathComponent("peft.safetensors"), "an SDXL LoRA"),
                     (sdxl, LoRAParityTests.folder.appendingPathComponent("ldm.safetensors"), "does not fit"),
                     (sdxl, LoRAParityTests.folder.appendingPathComponent("kohya.safetensors"), "does not fit")]
        for (pipeline, file, expected) in cases {
            do {
                _ = try pipeline.loadLoRA(file)
                Issue.record("\(file.lastPathComponent) loaded into \(pipeline.name)")
            } catch let error as LoRAError {
                let text = error.description
                print("[lora] \(file.lastPathComponent) on \(pipeline.name): \(text)")
                #expect(!text.contains("\n") && text.contains(file.path) && text.contains(expected), "\(text)")
            }
        }
    }
}
