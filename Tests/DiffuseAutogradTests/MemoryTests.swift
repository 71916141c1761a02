import DiffuseAutograd
import DiffuseTensor
import Testing

/// The graph keeps activations only as long as the backward pass needs them.
@Suite struct MemoryTests {
    @Test func backwardReleasesEverySavedTensorEvenWhileTheLossIsAlive() {
        var rng = TestRandom(seed: 160)
        let w = Variable(rng.tensor([4, 3, 3, 3], scale: 0.3), requiresGrad: true)
        let x = Variable(rng.tensor([2, 3, 6, 6]), requiresGrad: true)
        weak var conv: TensorStorage?, norm: TensorStorage?, act: TensorStorage?
        var loss: Variable
        do {
            let a = x.conv2d(weight: w, padding: Padding2D(1))
            let b = a.groupNorm(groups: 2, weight: nil, bias: nil)
            let c = b.gelu()
            (conv, norm, act) = (a.value.storage, b.value.storage, c.value.storage)
            loss = c.softmax().squared().mean()
        }
        // Before backward, the nodes hold exactly what their backward passes need: groupNorm its
        // input (the conv output), GELU its input (the norm output). Nothing needs GELU's output
        // (softmax saves its own output), so it is already gone.
        #expect(conv != nil && norm != nil)
        #expect(act == nil)
        loss.backward()
        // After backward the loss is still alive but its graph is cut: every activation is freed.
        #expect(conv == nil && norm == nil)
        #expect(x.grad != nil && w.grad != nil)
        #expect(loss.item > 0)
    }

    @Test func eachNodeReleasesItsTensorsRightAfterItsBackwardRuns() {
        // Graph: x → probe → a = ·2 → b = silu(a) → loss. silu saves `a`; when the probe's backward
        // runs (after silu's), `a` must already be gone.
        var rng = TestRandom(seed: 161)
        let x = Variable(rng.tensor([5, 7]), requiresGrad: true)
        weak var saved: TensorStorage?
        final class Observation { var savedWasAlive: Bool?; var ran = false }
        let observation = Observation()
        var loss: Variable
        do {
            let probed = Variable.recordOperation("probe", inputs: [x], output: x.value) { g, _ in
                observation.ran = true
                observation.savedWasAlive = saved != nil
                return [g]
            }
            let a = probed * 2
            saved = a.value.storage
            loss = a.silu().sum()
        }
        #expect(saved != nil)
        loss.backward()
        #expect(observation.ran)
        #expect(observation.savedWasAlive == false)
        #expect(saved == nil)
    }

    @Test func droppingAnUnusedGraphFreesIt() {
        // A deep chain that is never differentiated is released when its last variable goes away
        // (iteratively: 20 000 nodes deep does not overflow the stack).
        let x = Variable(Tensor(shape: [3], [1, 2, 3]), requiresGrad: true)
        weak var first: TensorStorage?
        do {
            var h = x.exp()                                  // saves its output for the backward pass
            first = h.value.storage
            for _ in 0 ..< 20_000 { h = h.tanh() * 1.5 }     // each tanh saves its output too
            #expect(first != nil)
        }
        #expect(first == nil)
    }

    @Test func noRecordingKeepsNothing() {
        let x = Variable(Tensor(shape: [4], [1, 2, 3, 4]), requiresGrad: true)
        weak var hidden: TensorStorage?
        let y = Autograd.withoutRecording { () -> Variable in
            let h = x.exp()
            hidden = h.value.storage
            return h.sigmoid()
        }
        #expect(!y.requiresGrad && y.isLeaf)
        #expect(hidden == nil)
        #expect(Autograd.isRecording)
    }

    /// A frozen weight made with `Variable(_:rereading:)` (how a float16 parameter enters a
    /// `Variable` model): linear and conv2d keep no copy of its value for the backward pass — the
    /// forward copy is freed as soon as the op returns — and read it again there, with the
    /// gradients of a plainly kept weight.
    @Test(arguments: ["linear", "conv2d"]) func aRereadWeightIsNotKeptUntilTheBackwardPass(op: String) {
        var rng = TestRandom(seed: 162)
        let shape = op == "linear" ? [6, 5] : [4, 3, 3, 3]
        let weight = rng.tensor(shape, scale: 0.3)
        let input = rng.tensor(op == "linear" ? [2, 7, 5] : [2, 3, 6, 6])
        func apply(_ x: Variable, _ w: Variable) -> Variable {
            op == "linear" ? x.linear(weight: w) : x.conv2d(weight: w, padding: Padding2D(1))
        }
        final class Reads { var count = 0 }
        let reads = Reads()
        let x = Variable(input, requiresGrad: true)
        weak var forwardCopy: TensorStorage?
        var loss: Variable
        do {
            let copy = weight.copied()
            forwardCopy = copy.storage
            let w = Variable(copy, rereading: { reads.count += 1; return weight.copied() })
            loss = apply(x, w).squared().sum()
        }
        #expect(forwardCopy == nil, "the graph does not hold the forward copy of the weight")
        #expect(reads.count == 0)
        loss.backward()
        #expect(reads.count == 1, "the backward pass read the weight again")

        let plainX = Variable(input, requiresGrad: true)
        apply(plainX, Variable(weight)).squared().sum().backward()
        #expect(x.grad!.scalars == plainX.grad!.scalars)
    }
}
