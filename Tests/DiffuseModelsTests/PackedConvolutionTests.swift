import DiffuseAutograd
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// `Conv2d` keeping its weight in oneDNN's blocked layout (`packsWeights`) computes what it
/// computes on the plain weight, gives the plain weight back exactly, and follows its weight when
/// the weight changes.
@Suite struct PackedConvolutionTests: PackedWeightTesting {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: [Int], cout: Int, kernel: Int, stride: Int, padding: Int, bias: Bool
        var testDescription: String { "\(input)→\(cout) k\(kernel) s\(stride) p\(padding)\(bias ? " bias" : "")" }
    }

    static let cases = [
        Case(input: [2, 32, 12, 12], cout: 48, kernel: 3, stride: 1, padding: 1, bias: true),
        Case(input: [1, 4, 9, 11], cout: 32, kernel: 3, stride: 1, padding: 1, bias: true),  // SD's conv_in: 4 channels
        Case(input: [2, 64, 8, 8], cout: 32, kernel: 1, stride: 1, padding: 0, bias: false),
        Case(input: [1, 32, 15, 15], cout: 32, kernel: 3, stride: 2, padding: 1, bias: true),
    ]

    @Test(arguments: cases)
    func packedMatchesPlain(_ c: Case) throws {
        let conv = Conv2d(c.input[1], c.cout, kernel: c.kernel, stride: c.stride, padding: c.padding, bias: c.bias)
        let weight = random([c.cout, c.input[1], c.kernel, c.kernel], seed: 1)
        conv.weight.value = weight
        conv.bias?.value = random([c.cout], seed: 2)
        let x = random(c.input, seed: 3)
        let plain = conv(x)
        conv.packsWeights = true
        let packed = conv(x)
        let difference = maxDifference(plain, packed)
        print("[parity] packed Conv2d \(c.testDescription): max abs difference \(difference)")
        #expect(difference < 1e-4)

        // The plain copy is gone; the packed one holds at least its values and gives them back exactly.
        let stored = try #require(conv.weight.storage as? PackedConvolutionWeight, "the weight was not packed")
        #expect(stored.packedCount >= weight.count)
        #expect(conv.weight.shape == weight.shape)
        #expect(conv.weight.value.scalars == weight.scalars)
        // Later calls reuse the packed copy.
        #expect(maxDifference(conv(x), packed) == 0)
        #expect(conv.weight.storage === stored)
    }

    /// Other input sizes (another primitive each), bands of rows, a new weight: still the plain result.
    @Test func packedFollowsShapesBandsAndNewWeights() throws {
        let conv = Conv2d(32, 32, kernel: 3, padding: 1)
        conv.weight.value = random([32, 32, 3, 3], seed: 4)
        conv.bias?.value = random([32], seed: 5)
        let inputs = [random([1, 32, 8, 8], seed: 6), random([2, 32, 16, 20], seed: 7), random([1, 32, 8, 8], seed: 8)]
        let plain = inputs.map { conv($0) }
        conv.packsWeights = true
        for (x, expected) in zip(inputs, plain) { #expect(maxDifference(conv(x), expected) < 1e-4, "\(x.shape)") }
        try OneDNNConvolution.$bandBytes.withValue(4096) {
            let bands = try #require(OneDNNConvolution.bandCount(input: inputs[1].shape, weight: [32, 32, 3, 3],
                                                                 geometry: ConvGeometry(kernel: (3, 3), padding: Padding2D(1)),
                                                                 groups: 1, hasBias: true))
            #expect(bands > 1)
            #expect(maxDifference(conv(inputs[1]), plain[1]) < 1e-4, "in \(bands) bands")
        }

        let newWeight = random([32, 32, 3, 3], seed: 9)
        conv.weight.value = newWeight
        #expect(conv.weight.storage == nil)
        let repacked = conv(inputs[0])
        #expect(conv.weight.storage is PackedConvolutionWeight)
        conv.packsWeights = false
        #expect(maxDifference(repacked, conv(inputs[0])) < 1e-4)
        #expect(conv.weight.value.scalars == newWeight.scalars)
    }

    /// A weight that trains (has a leaf) or is kept as float16 is never packed.
    @Test func trainingAndFloat16WeightsStayAsTheyAre() {
        let conv = Conv2d(16, 16, kernel: 3, padding: 1)
        conv.weight.value = random([16, 16, 3, 3], seed: 10)
        conv.bias?.value = random([16], seed: 11)
        conv.packsWeights = true
        let x = random([1, 16, 6, 6], seed: 12)
        conv.weight.leaf = Variable(conv.weight.value, requiresGrad: true)
        _ = conv(x)
        #expect(conv.weight.storage == nil)
        conv.weight.leaf = nil
        conv.weight.storeAsFloat16()
        let half = conv(x)
        #expect(conv.weight.isFloat16)
        conv.packsWeights = false
        #expect(maxDifference(half, conv(x)) == 0)
    }
}
