import DiffuseAutograd
import DiffuseTensor
import Testing

@Suite struct CheckpointTests {
    /// A ResNet-style block: GroupNorm+SiLU → conv → + time embedding → GroupNorm+SiLU → conv, plus the skip.
    final class Block {
        let w1: Variable, b1: Variable, w2: Variable, b2: Variable, n1: Variable, n2: Variable, proj: Variable
        init(_ rng: inout TestRandom, channels: Int, temb: Int) {
            w1 = Variable(rng.tensor([channels, channels, 3, 3], scale: 0.2), requiresGrad: true)
            b1 = Variable(rng.tensor([channels], scale: 0.1), requiresGrad: true)
            w2 = Variable(rng.tensor([channels, channels, 3, 3], scale: 0.2), requiresGrad: true)
            b2 = Variable(rng.tensor([channels], scale: 0.1), requiresGrad: true)
            n1 = Variable(rng.tensor([channels], scale: 0.1).affine(scale: 1, shift: 1), requiresGrad: true)
            n2 = Variable(rng.tensor([channels], scale: 0.1).affine(scale: 1, shift: 1), requiresGrad: true)
            proj = Variable(rng.tensor([channels, temb], scale: 0.3), requiresGrad: true)
        }
        var parameters: [Variable] { [w1, b1, w2, b2, n1, n2, proj] }

        func callAsFunction(_ x: Variable, _ temb: Variable) -> Variable {
            var h = x.groupNorm(groups: 2, weight: n1, bias: nil, silu: true).conv2d(weight: w1, bias: b1, padding: Padding2D(1))
            let t = temb.silu().linear(weight: proj)
            h = h + t.reshaped(t.shape[0], t.shape[1], 1, 1)
            h = h.groupNorm(groups: 2, weight: n2, bias: nil, silu: true).conv2d(weight: w2, bias: b2, padding: Padding2D(1))
            return x + h
        }
    }

    @Test func checkpointedBlockGivesTheSameGradients() {
        var rng = TestRandom(seed: 150)
        let block = Block(&rng, channels: 4, temb: 6)
        let xValue = rng.tensor([2, 4, 7, 5]), tValue = rng.tensor([2, 6]), target = rng.tensor([2, 4, 7, 5])
        let stem = Variable(rng.tensor([4, 4, 1, 1], scale: 0.5), requiresGrad: true)

        func run(checkpointed: Bool) -> (loss: Float, grads: [[Float]]) {
            for p in block.parameters + [stem] { p.zeroGrad() }
            let x = Variable(xValue, requiresGrad: true), t = Variable(tValue, requiresGrad: true)
            // The block's input is the result of an earlier operation, so gradients must flow through the checkpoint.
            let h0 = x.conv2d(weight: stem)
            let h = checkpointed ? checkpoint(h0, t) { block($0, $1) } : block(h0, t)
            let loss = Variable.meanSquaredError(block(h, t), target)
            loss.backward()
            return (loss.item, (block.parameters + [stem, x, t]).map { $0.grad!.scalars })
        }
        let plain = run(checkpointed: false), checkpointed = run(checkpointed: true)
        #expect(plain.loss == checkpointed.loss)
        var worst: Float = 0
        for (a, b) in zip(plain.grads, checkpointed.grads) {
            #expect(a.count == b.count)
            for (u, v) in zip(a, b) { worst = max(worst, abs(u - v)) }
        }
        print("[checkpoint] max |Δgrad| between plain and checkpointed block: \(worst)")
        #expect(worst == 0, "checkpointed gradients differ by up to \(worst)")
    }

    @Test func checkpointKeepsNoInternalActivations() {
        var rng = TestRandom(seed: 151)
        let w = Variable(rng.tensor([3, 3, 3, 3], scale: 0.3), requiresGrad: true)
        let x = Variable(rng.tensor([1, 3, 6, 6]), requiresGrad: true)
        weak var inner: TensorStorage?
        var recomputations = 0
        let y = checkpoint(x) { input in
            recomputations += 1
            let hidden = input.conv2d(weight: w, padding: Padding2D(1)).silu()
            if recomputations == 1 { inner = hidden.value.storage }
            return hidden.conv2d(weight: w, padding: Padding2D(1))
        }
        // The block ran once, and its intermediate result is already gone.
        #expect(recomputations == 1)
        #expect(inner == nil)
        y.sum().backward()
        #expect(recomputations == 2)
        #expect(w.grad != nil && x.grad != nil)
    }

    @Test func nestedCheckpointsAndUnusedOutputs() {
        var rng = TestRandom(seed: 152)
        let w = Variable(rng.tensor([5, 5], scale: 0.4), requiresGrad: true)
        let xValue = rng.tensor([3, 5])
        func body(_ x: Variable) -> Variable { x.linear(weight: w).gelu().linear(weight: w) }
        func gradients(_ f: (Variable) -> Variable) -> [Float] {
            w.zeroGrad()
            let x = Variable(xValue, requiresGrad: true)
            f(x).squared().sum().backward()
            return w.grad!.scalars + x.grad!.scalars
        }
        let plain = gradients { body(body($0)) }
        let nested = gradients { x in checkpoint(x) { inner in checkpoint(body(inner)) { body($0) } } }
        #expect(plain == nested)
        // A block with two outputs, of which only one reaches the loss.
        let twoOutputs = gradients { x in
            let outs = checkpoint([x]) { v in [body(body(v[0])), v[0] * 3] }
            return outs[0]
        }
        #expect(plain == twoOutputs)
    }
}
