import DiffuseTensor
import Testing

/// `OneDNNConvolution.Algorithm.automatic` (the UNet's default at inference): Winograd where a call
/// has at least `winogradMinimumPositions` output positions and its temporaries fit the shared
/// scratch buffer, direct elsewhere — on oneDNN's kernels (AVX-512 CPUs) and on Diffuse's own
/// (forced with `WinogradConvolution.kernel = .diffuse`, so this runs on any x86-64 CPU).
@Suite struct AutomaticConvolutionTests {
    static let same = ConvGeometry(kernel: (3, 3), padding: Padding2D(1))

    func automatic<R>(kernel: WinogradConvolution.Kernel = .automatic, _ body: () throws -> R) rethrows -> R {
        try OneDNNConvolution.$algorithm.withValue(.automatic) {
            try WinogradConvolution.$kernel.withValue(kernel, operation: body)
        }
    }

    @Test func winogradIsAskedForByOutputPositions() {
        let minimum = OneDNNConvolution.winogradMinimumPositions
        #expect(minimum == 512)
        automatic {
            #expect(OneDNNConvolution.asksForWinograd(input: [2, 320, 16, 16], outputHeight: 16, outputWidth: 16))  // 512
            #expect(!OneDNNConvolution.asksForWinograd(input: [2, 1280, 15, 15], outputHeight: 15, outputWidth: 15))  // 450
            #expect(!OneDNNConvolution.asksForWinograd(input: [2, 1280, 8, 8], outputHeight: 8, outputWidth: 8))
            // The output's positions count, not the input's (a stride-2 convolution's are a quarter).
            #expect(!OneDNNConvolution.asksForWinograd(input: [2, 320, 32, 32], outputHeight: 15, outputWidth: 15))
        }
        OneDNNConvolution.$algorithm.withValue(.winograd) {
            #expect(OneDNNConvolution.asksForWinograd(input: [1, 16, 4, 4], outputHeight: 4, outputWidth: 4))
        }
        OneDNNConvolution.$algorithm.withValue(.direct) {
            #expect(!OneDNNConvolution.asksForWinograd(input: [2, 320, 64, 64], outputHeight: 64, outputWidth: 64))
        }
    }

    /// A Stable Diffusion 1.5 UNet's shapes (batch 2 for guidance): Winograd at the 32² and 16²
    /// levels, direct at 8² (too few positions) and for 2560 channels at 32² (its transformed
    /// weights, 944 MB, exceed the 512 MB shared buffer).
    @Test(.enabled(if: WinogradConvolution.oneDNNHasWinograd, "oneDNN has no Winograd kernel on this CPU (AVX2)"))
    func oneDNNPicksWinogradWhereItPays() {
        func implementation(_ input: [Int], _ cout: Int) -> String {
            automatic(kernel: .onednn) {
                OneDNNConvolution.implementation(.forward, input: input, weight: [cout, input[1], 3, 3], geometry: Self.same,
                                                 groups: 1, hasBias: true) ?? "declined"
            }
        }
        #expect(implementation([2, 320, 32, 32], 320).contains("wino"))
        #expect(implementation([2, 640, 16, 16], 640).contains("wino"))
        #expect(implementation([2, 960, 32, 32], 320).contains("wino"))
        #expect(implementation([2, 1280, 16, 16], 1280).contains("wino"))
        let small = implementation([2, 1280, 8, 8], 1280), large = implementation([2, 2560, 32, 32], 2560)
        #expect(!small.contains("wino") && small != "declined", "\(small)")
        #expect(!large.contains("wino") && large != "declined", "\(large)")
    }

    @Test func diffuseKernelsTakeTheSameShapes() {
        automatic(kernel: .diffuse) {
            #expect(WinogradConvolution.takes(input: [2, 64, 16, 16], weight: [64, 64, 3, 3], geometry: Self.same, groups: 1))
            #expect(!WinogradConvolution.takes(input: [1, 64, 16, 16], weight: [64, 64, 3, 3], geometry: Self.same, groups: 1))
            #expect(WinogradConvolution.takes(input: [2, 1280, 16, 16], weight: [1280, 1280, 3, 3], geometry: Self.same,
                                              groups: 1))
            // 36 × 2560 × 2560 transformed weights: 236 M floats, more than the 128 M-float shared buffer.
            #expect(!WinogradConvolution.takes(input: [2, 2560, 32, 32], weight: [2560, 2560, 3, 3], geometry: Self.same,
                                               groups: 1))
        }
        OneDNNConvolution.$algorithm.withValue(.direct) {
            WinogradConvolution.$kernel.withValue(.diffuse) {
                #expect(!WinogradConvolution.takes(input: [2, 64, 16, 16], weight: [64, 64, 3, 3], geometry: Self.same, groups: 1))
            }
        }
    }

    /// What `.automatic` computes is the convolution, whichever algorithm it picked: against float64
    /// sums on a shape that takes Winograd and one that stays direct, with each kernel.
    @Test(arguments: [WinogradConvolution.Kernel.automatic, .diffuse])
    func resultsMatchFloat64(kernel: WinogradConvolution.Kernel) {
        var rng = TestRandom(seed: 13)
        for input in [[2, 32, 16, 18], [1, 32, 8, 8]] {
            let weightShape = [48, 32, 3, 3]
            let x = rng.tensor(input), w = rng.tensor(weightShape, scale: 0.2), b = rng.tensor([48])
            let y = automatic(kernel: kernel) { x.conv2d(weight: w, bias: b, padding: Padding2D(1)) }
            let (reference, shape) = Naive.conv2d(doubles(x), input, doubles(w), weightShape, bias: doubles(b), stride: (1, 1),
                                                  pad: (1, 1, 1, 1))
            expectClose(y, reference, shape: shape, tolerance: 2e-6, "automatic \(kernel) \(input)")
        }
    }
}
