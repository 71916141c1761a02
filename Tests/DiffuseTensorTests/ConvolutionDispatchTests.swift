import DiffuseTensor
import Testing

/// `Convolution`, the one dispatcher of forward convolutions: the order it tries kernels in, as
/// `kernel(…)` reports it (what `diffuse doctor` prints), on shapes each kernel takes or declines.
@Suite struct ConvolutionDispatchTests {
    static let same = ConvGeometry(kernel: (3, 3), padding: Padding2D(1))
    static let pointwise = ConvGeometry(kernel: (1, 1))

    func kernel(_ input: [Int], _ weight: [Int], _ geometry: ConvGeometry = same, packable: Bool = false,
                packed: Bool = false) -> Convolution.Kernel {
        Convolution.kernel(input: input, weight: weight, geometry: geometry, groups: 1, hasBias: true, packable: packable,
                           packed: packed)
    }

    @Test func diffusesWinogradComesFirstUnlessTheWeightIsPackedForOneDNN() {
        OneDNNConvolution.$algorithm.withValue(.winograd) {
            WinogradConvolution.$kernel.withValue(.diffuse) {
                #expect(kernel([1, 32, 16, 16], [32, 32, 3, 3]) == .winograd)
                #expect(kernel([1, 32, 16, 16], [32, 32, 3, 3], packable: true) == .winograd)
                // A weight already packed in oneDNN's layout stays on oneDNN.
                guard case .oneDNN(_, packedWeight: true) = kernel([1, 32, 16, 16], [32, 32, 3, 3], packable: true, packed: true) else {
                    Issue.record("a packed weight went to \(kernel([1, 32, 16, 16], [32, 32, 3, 3], packable: true, packed: true))")
                    return
                }
                // 8 input channels: not a whole 16-block, so not Winograd.
                guard case .oneDNN(_, packedWeight: false) = kernel([1, 8, 16, 16], [32, 8, 3, 3]) else {
                    Issue.record("8 channels went to \(kernel([1, 8, 16, 16], [32, 8, 3, 3]))")
                    return
                }
            }
        }
    }

    @Test func directConvolutionsGoToOneDNNAndOtherwiseToGEMM() {
        OneDNNConvolution.$algorithm.withValue(.direct) {
            guard case .oneDNN(let implementation, packedWeight: true) = kernel([2, 32, 16, 16], [32, 32, 3, 3], packable: true) else {
                Issue.record("expected oneDNN with a packed weight")
                return
            }
            #expect(!implementation.isEmpty && !implementation.contains("wino"))
            OneDNNConvolution.$enabled.withValue(false) {
                #expect(kernel([2, 32, 16, 16], [32, 32, 3, 3], packable: true) == .im2col)
                #expect(kernel([2, 32, 16, 16], [64, 32, 1, 1], Self.pointwise) == .pointwiseGEMM)
                #expect(kernel([2, 32, 16, 16], [64, 32, 1, 1], ConvGeometry(kernel: (1, 1), stride: (2, 2))) == .im2col)
            }
        }
    }

    /// Every kernel the dispatcher can pick gives the same convolution (to float rounding: outputs
    /// are ~1 here; Winograd's rounding error is a few times the direct sums').
    @Test func everyKernelComputesTheSameConvolution() {
        var random = TestRandom(seed: 3)
        let x = random.tensor([1, 16, 12, 12]), w = random.tensor([16, 16, 3, 3], scale: 0.1), b = random.tensor([16])
        let im2col = OneDNNConvolution.$enabled.withValue(false) { x.conv2d(weight: w, bias: b, padding: Padding2D(1)) }
        let oneDNN = OneDNNConvolution.$algorithm.withValue(.direct) { x.conv2d(weight: w, bias: b, padding: Padding2D(1)) }
        let winograd = OneDNNConvolution.$algorithm.withValue(.winograd) {
            WinogradConvolution.$kernel.withValue(.diffuse) { x.conv2d(weight: w, bias: b, padding: Padding2D(1)) }
        }
        let reference = im2col.scalars
        for (name, y, tolerance) in [("oneDNN", oneDNN, Float(1e-5)), ("Winograd", winograd, Float(5e-5))] {
            let difference = zip(y.scalars, reference).map { abs($0 - $1) }.max() ?? .infinity
            print("[conv] \(name) vs im2col: max abs difference \(difference)")
            #expect(difference < tolerance, "\(name)")
        }
    }
}
