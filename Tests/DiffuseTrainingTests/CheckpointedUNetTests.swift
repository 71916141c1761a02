import DiffuseAutograd
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Testing

/// `gradientCheckpointing` recomputes each resnet and attention during the backward pass; the
/// outputs and every parameter gradient must be those of the plain training path.
@Suite struct CheckpointedUNetTests {
    /// Runs `loss` plain and checkpointed and compares the loss and the gradient of every parameter
    /// and of every leaf in `inputs`.
    static func compare(_ label: String, model: Module, inputs: [Variable] = [], setCheckpointing: (Bool) -> Void, loss: () -> Variable) {
        model.beginTraining()
        defer { model.endTraining() }
        setCheckpointing(false)
        let plainLoss = loss()
        plainLoss.backward()
        let plain = model.gradients().map { (key: $0.key, gradient: $0.gradient.copied()) }
            + inputs.enumerated().compactMap { i, v in v.grad.map { (key: "input \(i)", gradient: $0.copied()) } }
        model.zeroGradients()
        for input in inputs { input.zeroGrad() }
        setCheckpointing(true)
        let checkpointedLoss = loss()
        checkpointedLoss.backward()
        let checkpointed = model.gradients()
            + inputs.enumerated().compactMap { i, v in v.grad.map { (key: "input \(i)", gradient: $0) } }
        setCheckpointing(false)

        #expect(plainLoss.item == checkpointedLoss.item, "\(label): loss \(plainLoss.item) vs \(checkpointedLoss.item)")
        #expect(plain.map(\.key) == checkpointed.map(\.key), "\(label): different parameters received gradients")
        let expected = model.namedParameters().count + inputs.count
        #expect(plain.count == expected, "\(label): \(plain.count) of \(expected) parameters and inputs got a gradient")
        // Attention key biases have a zero gradient in exact arithmetic (softmax ignores a shift
        // shared by all keys): theirs is round-off, below 1e-6 of the largest gradient, which both
        // paths must reproduce; every other gradient must agree within 2e-6 relative (the sums of a
        // gradient's contributions run in another order, so identical up to float32 round-off).
        func norm(_ t: Tensor) -> Double { t.scalars.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        let zeroLevel = 1e-6 * (plain.map { norm($0.gradient) }.max() ?? 0)
        var worst = 0.0, identical = 0, roundOff = 0
        for (a, b) in zip(plain, checkpointed) {
            let difference = norm(b.gradient - a.gradient)
            if difference == 0 { identical += 1 }
            if norm(a.gradient) < zeroLevel {
                roundOff += 1
                #expect(norm(b.gradient) < zeroLevel, "\(label) \(a.key): zero gradient \(norm(a.gradient)) became \(norm(b.gradient))")
                continue
            }
            let error = difference / norm(a.gradient)
            worst = Swift.max(worst, error)
            #expect(error <= 2e-6, "\(label) \(a.key): checkpointed gradient differs by \(error) relative")
        }
        print("[checkpoint] \(label): \(identical)/\(plain.count) gradients bit-identical, \(roundOff) zero up to round-off, worst relative L2 \(worst)")
    }

    @Test func unet2DModel() {
        let model = TrainingTestSupport.tinyUNet2D()
        var rng = SeededNormal(seed: 31)
        let x = rng.tensor([2, 3, 8, 8]), target = rng.tensor([2, 3, 8, 8])
        Self.compare("UNet2DModel", model: model, setCheckpointing: { model.gradientCheckpointing = $0 }) {
            Variable.meanSquaredError(model(Variable(x), timesteps: [5, 500]), target)
        }
    }

    @Test func unet2DConditionModel() {
        let model = TrainingTestSupport.tinyConditionUNet()
        var rng = SeededNormal(seed: 32)
        let x = rng.tensor([2, 4, 7, 7]), context = rng.tensor([2, 5, 12]), target = rng.tensor([2, 4, 7, 7])
        // The text embeddings are trained too here (a gradient must reach them through the checkpoints).
        let contextLeaf = Variable(context, requiresGrad: true)
        Self.compare("UNet2DConditionModel", model: model, inputs: [contextLeaf], setCheckpointing: { model.gradientCheckpointing = $0 }) {
            Variable.meanSquaredError(model(Variable(x), timesteps: [999, 37], encoderHiddenStates: contextLeaf), target)
        }
    }

    /// The flag really recomputes: a weight changed between the forward and the backward pass is
    /// invisible to the plain path (its saved tensors are from the forward pass) but changes the
    /// gradients of the checkpointed one (its segments run again with the new weight).
    @Test func checkpointedSegmentsRunAgainDuringBackward() {
        let model = TrainingTestSupport.tinyUNet2D()
        var rng = SeededNormal(seed: 33)
        let x = rng.tensor([1, 3, 8, 8]), target = rng.tensor([1, 3, 8, 8])
        let changed = model.downBlocks[0].resnets[0].conv2.weight, observed = "down_blocks.0.resnets.0.conv1.weight"
        model.beginTraining()
        defer { model.endTraining() }
        func gradient(checkpointing: Bool, changeWeight: Bool) -> Tensor {
            model.gradientCheckpointing = checkpointing
            defer { model.gradientCheckpointing = false }
            let original = changed.value
            let loss = Variable.meanSquaredError(model(Variable(x), timesteps: [250]), target)
            if changeWeight { changed.value = original * 2 }
            loss.backward()
            changed.value = original
            let result = model.gradients().first { $0.key == observed }!.gradient.copied()
            model.zeroGradients()
            return result
        }
        let reference = gradient(checkpointing: false, changeWeight: false)
        let plainChanged = gradient(checkpointing: false, changeWeight: true)
        let checkpointedChanged = gradient(checkpointing: true, changeWeight: true)
        #expect(TrainingTestSupport.relativeL2(plainChanged, reference) == 0)
        #expect(TrainingTestSupport.relativeL2(checkpointedChanged, reference) > 0.1)
    }
}
