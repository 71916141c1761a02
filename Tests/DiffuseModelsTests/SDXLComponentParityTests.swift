import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// The tiny random SDXL folder of tools/make_sdxl_fixtures.py, one component at a time against
/// diffusers' recorded outputs: both text encoders' penultimate hidden states, the second's
/// projected text embeds, and the "text_time" UNet (per-level transformer depth [1, 2]) on fixed
/// inputs. Relative L2 ≤ 1e-4; the max abs differences are printed.
@Suite struct SDXLComponentParityTests {
    static let base = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sdxl/base")

    struct Inputs: Decodable {
        var ids1: [[Int]]
        var ids2: [[Int]]
    }

    static func reference() throws -> (SafeTensorsFile, Inputs) {
        let url = base.appendingPathComponent("reference")
        let inputs = try JSONDecoder().decode(Inputs.self, from: Data(contentsOf: url.appendingPathComponent("components.json")))
        return (try SafeTensorsFile(url: url.appendingPathComponent("components.safetensors")), inputs)
    }

    static func tensor(_ file: SafeTensorsFile, _ name: String) throws -> Tensor {
        Tensor(shape: try file.info(name).shape, try file.floats(name))
    }

    @Test func textEncoders() throws {
        let (file, inputs) = try Self.reference()
        let folder = try DiffusersFolder(Self.base)
        let first = CLIPTextModel(config: try CLIPTextConfig(ModelConfig(contentsOf: folder.configURL("text_encoder"))))
        try first.load(from: CLIPTextModel.normalizedWeights(SafeTensorsWeights(folder.weightFiles("text_encoder"))),
                       ignoring: CLIPTextModel.ignoredKeys)
        let states1 = first.hiddenStates(inputs.ids1).all
        ComponentParityTests.expectMatch(states1[states1.count - 2], try Self.tensor(file, "te1.penultimate"), "SDXL text_encoder penultimate")

        let second = try CLIPTextModelWithProjection(ModelConfig(contentsOf: folder.configURL("text_encoder_2")))
        try second.load(from: CLIPTextModelWithProjection.normalizedWeights(SafeTensorsWeights(folder.weightFiles("text_encoder_2"))),
                        ignoring: CLIPTextModelWithProjection.ignoredKeys)
        // "!" pads tokenizer_2 (id 0): the end token is the row's largest id.
        #expect(second.pooledPositions(inputs.ids2) == inputs.ids2.map { $0.firstIndex(of: 49407)! })
        for packed in [false, true] {
            second.packLinearWeights(packed)
            let (states2, textEmbeds) = second(inputs.ids2)
            let label = packed ? ", packed weights" : ""
            ComponentParityTests.expectMatch(states2[states2.count - 2], try Self.tensor(file, "te2.penultimate"),
                                             "SDXL text_encoder_2 penultimate\(label)")
            ComponentParityTests.expectMatch(textEmbeds, try Self.tensor(file, "te2.text_embeds"), "SDXL text_encoder_2 text_embeds\(label)")
        }
    }

    @Test func textTimeUNet() throws {
        let (file, _) = try Self.reference()
        let folder = try DiffusersFolder(Self.base)
        let config = try UNet2DConditionConfig(ModelConfig(contentsOf: folder.configURL("unet")))
        #expect(config.transformerLayersPerBlock == [1, 2] && config.additionTimeEmbedDim == 8 && config.additionEmbeddingInputDim == 60)
        let model = UNet2DConditionModel(config: config)
        try model.load(from: SafeTensorsWeights(folder.weightFiles("unet")))
        let out = model(try Self.tensor(file, "unet.sample"), timesteps: try file.floats("unet.timesteps"),
                        encoderHiddenStates: try Self.tensor(file, "unet.encoder_hidden_states"),
                        addedConditions: (try Self.tensor(file, "unet.text_embeds"), try Self.tensor(file, "unet.time_ids")))
        ComponentParityTests.expectMatch(out, try Self.tensor(file, "unet.output"), "SDXL UNet (text_time)")
    }

    @Test func textTimeConfigErrorsNameTheKey() throws {
        func problem(_ json: String) -> String {
            do {
                _ = try UNet2DConditionConfig(ModelConfig(data: Data(json.utf8), source: "unet/config.json"))
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(problem(#"{"addition_embed_type": "text_time", "addition_time_embed_dim": 256}"#).contains("projection_class_embeddings_input_dim"))
        #expect(problem(#"{"addition_embed_type": "text_time", "projection_class_embeddings_input_dim": 2816}"#).contains("addition_time_embed_dim"))
        #expect(problem(#"{"addition_embed_type": "text_image"}"#).contains("addition_embed_type"))
        #expect(problem(#"{"addition_embed_type": "text_time", "addition_time_embed_dim": 256, "projection_class_embeddings_input_dim": 2816}"#) == "accepted")
    }
}
