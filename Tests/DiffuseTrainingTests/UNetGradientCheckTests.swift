import DiffuseAutograd
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Testing

/// Gradients of the UNets' training path against central finite differences of the inference
/// path, on tiny random models: objective Σ R·UNet(x) with a fixed random R, for the elements
/// with the largest gradients of a few parameters spread over the network.
///
/// Float32 forward passes limit the finite differences to about three digits: step 1e-2, and the
/// relative error ‖analytic − numeric‖ / ‖numeric‖ over the checked elements must be ≤ 2e-2
/// (a wrong derivative anywhere on the path is off by far more).
@Suite struct UNetGradientCheckTests {
    static let step: Float = 1e-2
    static let tolerance = 2e-2

    /// Compares the leaf gradients of `keys` with finite differences of `objective` (a Tensor run).
    static func check(_ label: String, model: Module, keys: [String], elements: Int = 4, objective: () -> Double) {
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.key, $0.parameter) })
        for key in keys {
            guard let parameter = parameters[key], let grad = parameter.leaf?.grad else {
                Issue.record("\(label): no gradient for \(key)")
                continue
            }
            let analytic = grad.scalars
            let picked = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(elements)
            let original = parameter.value.copied()
            var numeric: [Double] = [], expected: [Double] = []
            for index in picked {
                var values = original.scalars
                values[index] = original.scalars[index] + step
                parameter.value = Tensor(shape: original.shape, values)
                let plus = objective()
                values[index] = original.scalars[index] - step
                parameter.value = Tensor(shape: original.shape, values)
                let minus = objective()
                parameter.value = original
                numeric.append((plus - minus) / Double(2 * step))
                expected.append(Double(analytic[index]))
            }
            let difference = zip(expected, numeric).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            let norm = numeric.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let error = difference / Swift.max(norm, 1e-12)
            print("[grad] \(label) \(key): analytic \(expected.map { Float($0) }) numeric \(numeric.map { Float($0) }) relative error \(error)")
            #expect(norm > 1e-4, "\(label) \(key): gradient too small to check")
            #expect(error <= tolerance, "\(label) \(key): relative error \(error) > \(tolerance)")
        }
    }

    @Test func unet2DModel() {
        let model = TrainingTestSupport.tinyUNet2D()
        var rng = SeededNormal(seed: 21)
        let x = rng.tensor([2, 3, 8, 8]), r = rng.tensor([2, 3, 8, 8])
        let timesteps: [Float] = [10, 700]
        model.beginTraining()
        defer { model.endTraining() }
        let loss = (model(Variable(x), timesteps: timesteps) * Variable(r)).sum()
        loss.backward()
        Self.check("UNet2DModel", model: model, keys: [
            "conv_in.weight",
            "time_embedding.linear_1.weight",
            "down_blocks.1.attentions.0.to_q.weight",
            "mid_block.attentions.0.group_norm.weight",
            "up_blocks.0.resnets.1.conv1.weight",
            "up_blocks.0.upsamplers.0.conv.bias",
            "conv_out.weight",
        ]) { TrainingTestSupport.dot(model(x, timesteps: timesteps), r) }
    }

    /// 7×7 latents: the up block resizes 4×4 to the 7×7 skip (`resizeNearest`'s gradient).
    @Test func unet2DConditionModel() {
        let model = TrainingTestSupport.tinyConditionUNet()
        var rng = SeededNormal(seed: 22)
        let x = rng.tensor([2, 4, 7, 7]), context = rng.tensor([2, 5, 12]), r = rng.tensor([2, 4, 7, 7])
        let timesteps: [Float] = [999, 37]
        model.beginTraining()
        defer { model.endTraining() }
        let loss = (model(Variable(x), timesteps: timesteps, encoderHiddenStates: Variable(context)) * Variable(r)).sum()
        loss.backward()
        Self.check("UNet2DConditionModel", model: model, keys: [
            "down_blocks.0.attentions.0.proj_in.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
            "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
            "mid_block.attentions.0.transformer_blocks.0.norm3.weight",
            "up_blocks.0.upsamplers.0.conv.weight",
            "up_blocks.1.resnets.0.time_emb_proj.weight",
            "conv_out.bias",
        ]) { TrainingTestSupport.dot(model(x, timesteps: timesteps, encoderHiddenStates: context), r) }
    }
}
