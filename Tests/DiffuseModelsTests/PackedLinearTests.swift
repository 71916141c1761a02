import DiffuseAutograd
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// `Linear` on packed weights (oneDNN's inner product) computes what it computes on plain ones,
/// and follows its weight when the weight changes.
@Suite struct PackedLinearTests: PackedWeightTesting {
    @Test(arguments: [([2, 77, 64], 96, true), ([5, 48], 200, false), ([1, 3, 7, 40], 8, true)])
    func packedMatchesPlain(_ input: [Int], _ outFeatures: Int, _ bias: Bool) throws {
        let layer = Linear(input.last!, outFeatures, bias: bias)
        layer.weight.value = random([outFeatures, input.last!], seed: 1)
        layer.bias?.value = random([outFeatures], seed: 2)
        let x = random(input, seed: 3)
        let plain = layer(x)
        layer.packsWeights = true
        let packed = layer(x)
        #expect(packed.shape == input.dropLast() + [outFeatures])
        let difference = maxDifference(plain, packed)
        print("[parity] packed Linear \(input) → \(outFeatures): max abs difference \(difference)")
        #expect(difference < 1e-4)
        let plan = try #require(OneDNNLinear.plan(rows: x.count / input.last!, inFeatures: input.last!, outFeatures: outFeatures,
                                                  hasBias: bias))
        #expect(!plan.implementation.isEmpty)
        // The packed copy took the plain one's place, and gives it back exactly.
        let stored = try #require(layer.weight.storage as? PackedLinearWeight, "the weight was not packed")
        #expect(stored.layout == plan.layout && stored.packedCount >= outFeatures * input.last!)
        #expect(layer.weight.value.scalars == random([outFeatures, input.last!], seed: 1).scalars)
        #expect(maxDifference(layer(x), packed) == 0)

        // A new weight is packed again (the old packed copy is not reused).
        layer.weight.value = random([outFeatures, input.last!], seed: 4)
        let repacked = layer(x)
        layer.packsWeights = false
        #expect(maxDifference(repacked, layer(x)) < 1e-4)
    }

    /// The activation and the residual applied by the product as it writes its output (oneDNN
    /// post-ops) match the separate ops; a residual of the wrong shape takes the plain path.
    @Test(arguments: [(FusedActivation?.some(.quickGELU), false), (.gelu, true), (.geluTanh, false), (nil, true),
                      (.quickGELU, true), (.relu, false)])
    func fusedEpilogueMatchesSeparateOps(_ activation: FusedActivation?, _ addsResidual: Bool) throws {
        let layer = Linear(64, 96)
        layer.weight.value = random([96, 64], seed: 8)
        layer.bias?.value = random([96], seed: 9)
        let x = random([2, 77, 64], seed: 10)
        let residual = addsResidual ? random([2, 77, 96], seed: 11) : nil
        let separate = layer(x, activation: activation, adding: residual)
        var expected: Tensor = layer(x)
        if let activation { expected = activation.apply(expected) }
        if let residual { expected = expected + residual }
        #expect(maxDifference(separate, expected) == 0)
        layer.packsWeights = true
        let fused = layer(x, activation: activation, adding: residual)
        let difference = maxDifference(fused, expected)
        print("[parity] packed Linear with \(activation.map { "\($0)" } ?? "no activation")\(addsResidual ? " + residual" : ""): max abs difference \(difference)")
        #expect(fused.shape == [2, 77, 96] && difference < 1e-4)
        #expect(OneDNNLinear.plan(rows: 154, inFeatures: 64, outFeatures: 96, hasBias: true, activation: activation,
                                  addsResidual: addsResidual) != nil)
        if addsResidual {
            let wrong = random([2, 77, 1], seed: 12)
            #expect(maxDifference(layer(x, activation: activation, adding: wrong), expected - residual! + wrong) < 1e-4)
        }
    }

    /// While the weight trains (has a leaf, updated in place by the optimizer) the plain path is
    /// taken, so no stale packed copy can be used.
    @Test func trainingWeightsAreNotPacked() {
        let layer = Linear(16, 8)
        layer.weight.value = random([8, 16], seed: 5)
        layer.bias?.value = random([8], seed: 6)
        layer.packsWeights = true
        let x = random([4, 16], seed: 7)
        _ = layer(x)
        layer.beginTraining()
        let p = layer.weight.value.pointer
        for i in 0 ..< 8 * 16 { p[i] += 0.5 }  // an optimizer step, in place
        let y = layer(x)
        layer.packsWeights = false
        #expect(maxDifference(y, layer(x)) == 0)
        layer.endTraining()
    }

    @Test func packLinearWeightsReachesEveryLinear() {
        final class Pair: Module { let first = Linear(4, 4); let rest = [Linear(4, 2), Linear(2, 2)]; let none: Linear? = nil }
        let pair = Pair()
        pair.packLinearWeights()
        #expect(pair.modules().count == 4)
        let linears = pair.modules().compactMap { $0 as? Linear }
        #expect(linears.count == 3 && linears.allSatisfy { $0.packsWeights })
    }
}
