import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// diffusers' `UNet2DConditionModel` with `class_embed_type` "projection"
/// (tools/make_unet_class_fixture.py): a vector per batch entry, projected by a
/// `TimestepEmbedding` and added to the time embedding — how the bundled model takes its pooled
/// sentence embedding.
@Suite struct UNetClassEmbeddingTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/unet-class")

    @Test func matchesDiffusers() throws {
        let config = try UNet2DConditionConfig(ModelConfig(contentsOf: Self.folder.appendingPathComponent("config.json")))
        #expect(config.classEmbeddingInputDim == 6)
        let model = UNet2DConditionModel(config: config)
        try model.load(from: SafeTensorsWeights(Self.folder.appendingPathComponent("diffusion_pytorch_model.safetensors")))
        let reference = try SafeTensorsFile(url: Self.folder.appendingPathComponent("reference.safetensors"))
        func tensor(_ name: String) throws -> Tensor { Tensor(shape: try reference.info(name).shape, try reference.floats(name)) }
        let labels = try tensor("class_labels")
        let out = model(try tensor("sample"), timesteps: try reference.floats("timesteps"), encoderHiddenStates: try tensor("context"),
                        classLabels: labels)
        ComponentParityTests.expectMatch(out, try tensor("output"), "UNet2DConditionModel with a projection class embedding")
        // The labels matter: other labels give a clearly different output.
        let other = model(try tensor("sample"), timesteps: try reference.floats("timesteps"), encoderHiddenStates: try tensor("context"),
                          classLabels: Tensor.zeros(labels.shape))
        let difference = zip(other.scalars, out.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(difference > 0.05, "class labels changed the output by only \(difference)")
    }

    /// A checkpoint without the class embedding loads only when missing tensors are allowed, and
    /// then names exactly the new ones, which keep their values.
    @Test func loadingAllowsNewLayersOnlyWhenAsked() throws {
        let config = try UNet2DConditionConfig(ModelConfig(contentsOf: Self.folder.appendingPathComponent("config.json")))
        let source = try SafeTensorsWeights(Self.folder.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in source.tensorNames where !name.hasPrefix("class_embedding.") { tensors[name] = try source.tensor(named: name) }
        let older = TensorDictionary(name: "older.safetensors", tensors)
        let model = UNet2DConditionModel(config: config)
        do {
            try model.load(from: older)
            Issue.record("loaded a checkpoint that lacks the class embedding")
        } catch let error as WeightLoadingError {
            #expect(error.description.contains("class_embedding.linear_1.weight") && error.description.contains("older.safetensors"))
        }
        let linear2 = model.classEmbedding!.linear2.weight
        linear2.value = Tensor(shape: linear2.shape, (0 ..< linear2.value.count).map { Float($0 % 7) * 0.25 })
        let kept = linear2.value.scalars
        let fresh = try model.load(from: older, allowingMissing: true)
        #expect(fresh.sorted() == ["class_embedding.linear_1.bias", "class_embedding.linear_1.weight",
                                   "class_embedding.linear_2.bias", "class_embedding.linear_2.weight"])
        #expect(model.classEmbedding!.linear2.weight.value.scalars == kept)
        #expect(model.convIn.weight.value.scalars == (try source.tensor(named: "conv_in.weight")).scalars)
        // Mis-shaped tensors are still refused.
        tensors["conv_in.weight"] = Tensor.zeros([1, 1, 1, 1])
        #expect(throws: WeightLoadingError.self) { try model.load(from: TensorDictionary(tensors), allowingMissing: true) }
    }

    @Test func otherClassEmbeddingsAreRefusedByName() throws {
        func config(_ values: [String: JSONValue]) throws -> UNet2DConditionConfig {
            try UNet2DConditionConfig(ModelConfig(values: values, source: "unet/config.json"))
        }
        #expect(try config([:]).classEmbeddingInputDim == nil)
        #expect(try config(["class_embed_type": nil]).classEmbeddingInputDim == nil)
        #expect(try config(["class_embed_type": "projection", "projection_class_embeddings_input_dim": 384]).classEmbeddingInputDim == 384)
        for (values, needle) in [
            (["class_embed_type": "timestep"] as [String: JSONValue], "class_embed_type"),
            (["class_embed_type": "projection"], "projection_class_embeddings_input_dim"),
            (["class_embed_type": "projection", "projection_class_embeddings_input_dim": 0], "must be positive"),
            (["class_embed_type": "projection", "projection_class_embeddings_input_dim": 8, "class_embeddings_concat": true], "class_embeddings_concat"),
        ] {
            do {
                _ = try config(values)
                Issue.record("accepted \(values)")
            } catch let error as ModelConfigError {
                #expect(error.description.contains(needle) && error.description.contains("unet/config.json"), "\(error.description)")
            }
        }
    }
}
