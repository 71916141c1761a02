import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// diffusers' `UNet2DModel` (tools/make_unet2d_fixture.py): DownBlock2D + AttnDownBlock2D with
/// multi-head spatial attention, perturbed weights, two timesteps in one batch.
@Suite struct UNet2DModelParityTests {
    @Test func matchesDiffusers() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/unet2d")
        let model = UNet2DModel(config: try UNet2DConfig(ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))))
        try model.load(from: SafeTensorsWeights(folder.appendingPathComponent("diffusion_pytorch_model.safetensors")))
        let reference = try SafeTensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
        func tensor(_ name: String) throws -> Tensor { Tensor(shape: try reference.info(name).shape, try reference.floats(name)) }
        let out = model(try tensor("sample"), timesteps: try reference.floats("timesteps"))
        ComponentParityTests.expectMatch(out, try tensor("output"), "UNet2DModel")
    }
}
