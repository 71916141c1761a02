import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// diffusers' `UNet2DConditionModel` with `time_cond_proj_dim` (tools/make_unet_guidance_fixture.py):
/// an LCM-distilled UNet takes the guidance scale as `get_guidance_scale_embedding(w − 1)`, projected
/// by the time embedding's `cond_proj` and added to its input.
@Suite struct UNetGuidanceEmbeddingTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/unet-guidance")

    func reference() throws -> SafeTensorsFile { try SafeTensorsFile(url: Self.folder.appendingPathComponent("reference.safetensors")) }

    @Test func guidanceScaleEmbeddingMatchesDiffusers() throws {
        let reference = try reference()
        let w = try reference.floats("scales").map { Float(Double($0) - 1) }
        for (dim, name) in [(10, "embeddings"), (256, "embeddings_256")] {
            let expected = Tensor(shape: try reference.info(name).shape, try reference.floats(name))
            ComponentParityTests.expectMatch(Tensor.guidanceScaleEmbedding(w, dim: dim), expected,
                                             "guidance-scale embedding, \(dim) wide", tolerance: 2e-4)
        }
    }

    @Test func unetWithTimestepConditionMatchesDiffusers() throws {
        let config = try UNet2DConditionConfig(ModelConfig(contentsOf: Self.folder.appendingPathComponent("config.json")))
        #expect(config.timeConditionDim == 10)
        let model = UNet2DConditionModel(config: config)
        try model.load(from: SafeTensorsWeights(Self.folder.appendingPathComponent("diffusion_pytorch_model.safetensors")))
        let reference = try reference()
        func tensor(_ name: String) throws -> Tensor { Tensor(shape: try reference.info(name).shape, try reference.floats(name)) }
        let (sample, context, timesteps) = (try tensor("sample"), try tensor("context"), try reference.floats("timesteps"))
        let out = model(sample, timesteps: timesteps, encoderHiddenStates: context, timestepCondition: try tensor("condition"))
        ComponentParityTests.expectMatch(out, try tensor("output"), "UNet2DConditionModel with time_cond_proj_dim")
        // Without a condition the cond_proj term is absent, as in diffusers; it changes the output.
        let without = model(sample, timesteps: timesteps, encoderHiddenStates: context)
        ComponentParityTests.expectMatch(without, try tensor("output_without_condition"), "the same UNet without timestep_cond")
        let difference = zip(without.scalars, out.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(difference > 0.01, "the guidance embedding changed the output by only \(difference)")
    }

    @Test func timeConditionWidthIsValidated() throws {
        let bad = ModelConfig(values: ["time_cond_proj_dim": 0], source: "unet/config.json")
        #expect { try UNet2DConditionConfig(bad) } throws: { "\($0)".contains("time_cond_proj_dim") }
    }
}
