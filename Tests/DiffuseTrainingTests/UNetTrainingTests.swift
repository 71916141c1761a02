import DiffuseAutograd
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// End to end: a tiny UNet2DModel trained with Adam on a fixed batch of noisy images learns to
/// predict the noise (the denoising objective of DDPM).
@Suite struct UNetTrainingTests {
    /// Adam (β₁ 0.9, β₂ 0.999, ε 1e-8) over a module's parameters, keyed by checkpoint name.
    struct Adam {
        var learningRate: Float
        var step = 0
        var moments: [String: (m: Tensor, v: Tensor)] = [:]

        mutating func update(_ model: Module) {
            step += 1
            let (beta1, beta2): (Float, Float) = (0.9, 0.999)
            let correction1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
            let correction2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
            let gradients = Dictionary(uniqueKeysWithValues: model.gradients().map { ($0.key, $0.gradient) })
            for (key, parameter) in model.namedParameters() {
                guard let g = gradients[key] else { continue }
                let previous = moments[key] ?? (Tensor.zeros(g.shape), Tensor.zeros(g.shape))
                let m = beta1 * previous.m + (1 - beta1) * g
                let v = beta2 * previous.v + (1 - beta2) * g.squared()
                moments[key] = (m, v)
                let denominator = (v / correction2).squareRoot() + 1e-8
                parameter.value = parameter.value - (m / correction1) / denominator * learningRate
            }
            model.zeroGradients()
        }
    }

    @Test func tinyUNetLearnsToDenoise() {
        let model = TrainingTestSupport.tinyUNet2D(seed: 41)
        var rng = SeededNormal(seed: 42)
        // Smooth images (blobs and stripes) so there is structure to separate from the noise.
        let batch = 4, size = 8
        var pixels: [Float] = []
        for n in 0 ..< batch {
            for c in 0 ..< 3 {
                let phase = Float(n * 3 + c)
                for y in 0 ..< size {
                    for x in 0 ..< size {
                        let u: Float = 0.7 * Float(x) + phase, v: Float = 0.5 * Float(y) - 0.3 * phase
                        let value: Float = Foundation.sin(u) * Foundation.cos(v)
                        pixels.append(0.8 * value)
                    }
                }
            }
        }
        let images = Tensor(shape: [batch, 3, size, size], pixels)
        let noise = rng.tensor(images.shape)
        let timesteps: [Float] = [100, 300, 500, 700]
        // DDPM's linear β schedule (1e-4 … 0.02 over 1000 steps): ᾱ at each timestep.
        let alphaBars: [Float] = timesteps.map { t in
            var product: Float = 1
            for step in 0 ... Int(t) {
                let beta: Float = 1e-4 + (0.02 - 1e-4) * Float(step) / 999
                product *= 1 - beta
            }
            return product
        }
        let signal = Tensor(shape: [batch, 1, 1, 1], alphaBars.map { $0.squareRoot() })
        let spread = Tensor(shape: [batch, 1, 1, 1], alphaBars.map { (1 - $0).squareRoot() })
        let noisy = Variable(signal * images + spread * noise)

        model.beginTraining()
        defer { model.endTraining() }
        var adam = Adam(learningRate: 3e-3)
        var losses: [Float] = []
        for _ in 0 ..< 50 {
            let loss = Variable.meanSquaredError(model(noisy, timesteps: timesteps), noise)
            losses.append(loss.item)
            loss.backward()
            adam.update(model)
        }
        let final = Variable.meanSquaredError(model(noisy, timesteps: timesteps), noise).item
        print("[train] tiny UNet2DModel denoising MSE \(losses[0]) → \(losses[24]) → \(final)")
        #expect(final < 0.25 * losses[0], "denoising MSE \(losses[0]) → \(final)")
        #expect(losses[25] < losses[0] && final < losses[25])
        // The trained weights are what the inference path now uses.
        let inference = model(signal * images + spread * noise, timesteps: timesteps)
        #expect(abs(Float((inference - noise).squared().mean().item) - final) <= 1e-5 * Swift.max(1, final))
    }
}
