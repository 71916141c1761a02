import DiffuseAutograd
import DiffuseTensor
import Foundation
import Testing

/// End-to-end: small models trained with plain SGD must reduce their loss.
@Suite struct TrainingTests {
    static func sgd(_ parameters: [Variable], learningRate: Float) {
        for p in parameters {
            guard let g = p.grad else { continue }
            p.value = p.value - learningRate * g
            p.zeroGrad()
        }
    }

    @Test func twoLayerMLPFitsASmoothFunction() {
        var rng = TestRandom(seed: 140)
        let x = rng.tensor([64, 5])
        // Target: a smooth nonlinear function of the inputs.
        let xs = x.scalars
        let y = Tensor(shape: [64, 1], (0 ..< 64).map { (i: Int) -> Float in
            let a = Double(xs[i * 5]) + 0.5 * Double(xs[i * 5 + 1])
            let b = Double(xs[i * 5 + 2]) * Double(xs[i * 5 + 3])
            return Float(Foundation.sin(a) + 0.3 * b)
        })
        let w1 = Variable(rng.tensor([32, 5], scale: 0.45), requiresGrad: true), b1 = Variable(.zeros([32]), requiresGrad: true)
        let w2 = Variable(rng.tensor([1, 32], scale: 0.18), requiresGrad: true), b2 = Variable(.zeros([1]), requiresGrad: true)
        let parameters = [w1, b1, w2, b2]
        let input = Variable(x)
        var losses: [Float] = []
        for _ in 0 ..< 300 {
            let hidden = input.linear(weight: w1, bias: b1).gelu()
            let loss = Variable.meanSquaredError(hidden.linear(weight: w2, bias: b2), y)
            losses.append(loss.item)
            loss.backward()
            Self.sgd(parameters, learningRate: 0.25)
        }
        print("[train] MLP loss \(losses[0]) → \(losses[99]) → \(losses.last!)")
        #expect(losses.last! < 0.05 * losses[0])
        #expect(losses[150] < losses[0] && losses.last! < losses[150])
    }

    @Test func tinyConvNetLearnsToRegressImageStatistics() {
        var rng = TestRandom(seed: 141)
        // Images whose targets are a nonlinear function of their (local) content.
        let images = rng.tensor([16, 2, 8, 8])
        let xs = images.scalars
        let targets = Tensor(shape: [16, 3], (0 ..< 16).flatMap { n -> [Float] in
            let plane0 = xs[(n * 2) * 64 ..< (n * 2 + 1) * 64], plane1 = xs[(n * 2 + 1) * 64 ..< (n * 2 + 2) * 64]
            let m0 = plane0.reduce(0, +) / 64, m1 = plane1.reduce(0, +) / 64
            let energy = plane0.reduce(0) { $0 + $1 * $1 } / 64
            return [4 * (m0 - m1), 4 * (energy - 1), 4 * Float(Foundation.tanh(Double(16 * m0 * m1)))]
        })
        let c1 = Variable(rng.tensor([8, 2, 3, 3], scale: 0.3), requiresGrad: true), c1b = Variable(.zeros([8]), requiresGrad: true)
        let gnW = Variable(.ones([8]), requiresGrad: true), gnB = Variable(.zeros([8]), requiresGrad: true)
        let c2 = Variable(rng.tensor([8, 8, 3, 3], scale: 0.12), requiresGrad: true), c2b = Variable(.zeros([8]), requiresGrad: true)
        let fc = Variable(rng.tensor([3, 8], scale: 0.3), requiresGrad: true), fcb = Variable(.zeros([3]), requiresGrad: true)
        let parameters = [c1, c1b, gnW, gnB, c2, c2b, fc, fcb]
        let input = Variable(images)
        var losses: [Float] = []
        for _ in 0 ..< 150 {
            var h = input.conv2d(weight: c1, bias: c1b, padding: Padding2D(1))
            h = h.groupNorm(groups: 2, weight: gnW, bias: gnB, silu: true)
            h = h.conv2d(weight: c2, bias: c2b, stride: (2, 2), padding: Padding2D(1)).silu()
            h = h.avgPool2d(kernel: 2)                                    // [16, 8, 2, 2]
            let pooled = h.mean(axes: [2, 3])                              // [16, 8]
            let loss = Variable.meanSquaredError(pooled.linear(weight: fc, bias: fcb), targets)
            losses.append(loss.item)
            loss.backward()
            Self.sgd(parameters, learningRate: 0.25)
        }
        print("[train] conv net loss \(losses[0]) → \(losses[49]) → \(losses.last!)")
        #expect(losses.last! < 0.1 * losses[0])
        #expect(losses[75] < losses[0] && losses.last! < losses[75])
    }
}
