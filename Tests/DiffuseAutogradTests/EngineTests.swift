import DiffuseAutograd
import DiffuseTensor
import Foundation
import Testing

@Suite struct EngineTests {
    @Test func gradientsAccumulateAcrossBackwardPassesUntilZeroed() {
        let w = Variable(Tensor(shape: [3], [1, -2, 0.5]), requiresGrad: true)
        let x = Variable(Tensor(shape: [3], [4, 5, 6]))
        (w * x).sum().backward()
        #expect(w.grad!.scalars == [4, 5, 6])
        (w * x).sum().backward()
        #expect(w.grad!.scalars == [8, 10, 12])
        #expect(x.grad == nil)
        w.zeroGrad()
        (w * w).sum().backward()
        #expect(w.grad!.scalars == [2, -4, 1])
    }

    @Test func constantsAndDetachedValuesStopGradients() {
        let w = Variable(Tensor(shape: [2], [3, 4]), requiresGrad: true)
        let frozen = (w * 2).detached()
        #expect(!frozen.requiresGrad)
        let y = (w * frozen).sum()   // d/dw = frozen = 2w (not 4w)
        y.backward()
        #expect(w.grad!.scalars == [6, 8])
        let c = Variable(Tensor(shape: [2], [1, 1])) + Variable(Tensor(shape: [2], [2, 2]))
        #expect(!c.requiresGrad && c.isLeaf)
    }

    @Test func diamondGraphWaitsForAllConsumers() {
        // x feeds two branches that meet again; x's gradient is the sum over both paths.
        let x = Variable(Tensor(shape: [2], [0.5, -1]), requiresGrad: true)
        let a = x.exp()
        let y = (a * a + a.sigmoid() * 3).sum()
        y.backward()
        let expected = x.value.scalars.map { v -> Double in
            let e = Foundation.exp(Double(v)), s = 1 / (1 + Foundation.exp(-e))
            return 2 * e * e + 3 * s * (1 - s) * e
        }
        for (g, e) in zip(x.grad!.scalars, expected) { #expect(abs(Double(g) - e) <= 1e-5 * abs(e)) }
    }

    @Test func multipleOutputsWithExplicitGradients() {
        let x = Variable(Tensor(shape: [4], [1, 2, 3, 4]), requiresGrad: true)
        let halves = x.chunked(2, axis: 0)
        Autograd.backward([halves[0] * 2, halves[1]], gradients: [Tensor(shape: [2], [1, 1]), Tensor(shape: [2], [10, 20])])
        #expect(x.grad!.scalars == [2, 2, 10, 20])
    }

    @Test func deepChainBackward() {
        // 20 000 nodes: graph traversal and release are iterative.
        let x = Variable(Tensor(shape: [2], [1, -1]), requiresGrad: true)
        var h = x
        for _ in 0 ..< 20_000 { h = h * 1.0001 }
        h.sum().backward()
        let expected = Foundation.pow(1.0001, 20_000.0)
        for g in x.grad!.scalars { #expect(abs(Double(g) - expected) <= 1e-3 * expected) }
    }

    @Test func backwardTwiceThroughTheSameGraphStops() async {
        await #expect(processExitsWith: .failure) {
            let x = Variable(Tensor(shape: [2], [1, 2]), requiresGrad: true)
            let y = x.silu().sum()
            y.backward()
            y.backward()
        }
    }

    @Test func checkpointCapturingAnOutsideResultStops() async {
        await #expect(processExitsWith: .failure) {
            let x = Variable(Tensor(shape: [2], [1, 2]), requiresGrad: true)
            let outside = x.exp()
            let y = checkpoint(x) { $0 * outside }
            y.sum().backward()
        }
    }
}
