import DiffuseAutograd
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import DiffuseTraining
import Foundation
import Testing

/// End to end: a tiny UNet2DModel trained with Adam on a fixed batch of noisy images learns to
/// predict the noise (the denoising objective of DDPM).
@Suite struct UNetTrainingTests {
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
        let adam = AdamW(weightDecay: 0)
        let parameters = model.namedParameters()
        var losses: [Float] = []
        for _ in 0 ..< 50 {
            let loss = Variable.meanSquaredError(model(noisy, timesteps: timesteps), noise)
            losses.append(loss.item)
            loss.backward()
            adam.update(parameters, gradients: Dictionary(uniqueKeysWithValues: model.gradients().map { ($0.key, $0.gradient) }),
                        learningRate: 3e-3)
            model.zeroGradients()
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
