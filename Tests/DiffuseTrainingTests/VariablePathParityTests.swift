import DiffuseAutograd
import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// The training path (`Variable`s, parameters as trainable leaves, graph recorded) computes the
/// same outputs as the inference path (`Tensor`s) on the committed diffusers fixtures.
@Suite struct VariablePathParityTests {
    @Test func unet2DModel() throws {
        let folder = TrainingTestSupport.fixtures.appendingPathComponent("unet2d")
        let model = UNet2DModel(config: try UNet2DConfig(ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))))
        try model.load(from: SafeTensorsWeights(folder.appendingPathComponent("diffusion_pytorch_model.safetensors")))
        let reference = try SafeTensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
        let sample = try TrainingTestSupport.tensor(reference, "sample")
        let timesteps = try reference.floats("timesteps")

        let inference = model(sample, timesteps: timesteps)
        model.beginTraining()
        defer { model.endTraining() }
        let training = model(Variable(sample), timesteps: timesteps)
        #expect(training.requiresGrad, "the output should depend on the parameters' leaves")
        let error = TrainingTestSupport.relativeL2(training.value, inference)
        print("[training] UNet2DModel Variable vs Tensor path: relative L2 \(error)")
        #expect(error <= 1e-6)
        // And both still match diffusers.
        #expect(TrainingTestSupport.relativeL2(training.value, try TrainingTestSupport.tensor(reference, "output")) <= 1e-4)
    }

    /// Includes the fixtures' odd-size call, whose up blocks resize to the skip size; sd2 projects
    /// in and out of its transformers with linear layers.
    @Test(arguments: ["sd1", "sd2"], ["t999", "t37", "odd"])
    func unet2DConditionModel(_ fixture: String, _ call: String) throws {
        let root = TrainingTestSupport.fixtures.appendingPathComponent("sd/\(fixture)")
        let folder = try DiffusersFolder(root)
        let model = UNet2DConditionModel(config: try UNet2DConditionConfig(ModelConfig(contentsOf: folder.configURL("unet"))))
        try model.load(from: SafeTensorsWeights(folder.weightFiles("unet")))
        let reference = try SafeTensorsFile(url: root.appendingPathComponent("reference/components.safetensors"))
        let context = try TrainingTestSupport.tensor(reference, "unet.encoder_hidden_states")
        let sample = try TrainingTestSupport.tensor(reference, "unet.\(call).sample")
        let timesteps = try reference.floats("unet.\(call).timestep")

        let inference = model(sample, timesteps: timesteps, encoderHiddenStates: context)
        model.beginTraining()
        defer { model.endTraining() }
        let training = model(Variable(sample), timesteps: timesteps, encoderHiddenStates: Variable(context))
        #expect(training.requiresGrad)
        let error = TrainingTestSupport.relativeL2(training.value, inference)
        print("[training] \(fixture) UNet \(call) Variable vs Tensor path: relative L2 \(error)")
        #expect(error <= 1e-6)
        #expect(TrainingTestSupport.relativeL2(training.value, try TrainingTestSupport.tensor(reference, "unet.\(call).output")) <= 1e-4)
    }
}
