import DiffuseAutograd
import DiffuseTensor
import Testing

@Suite struct ConvolutionGradientTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var input: [Int], cout: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: Padding2D = Padding2D(0)
        var dilation: (Int, Int) = (1, 1), groups = 1, bias = true
        var testDescription: String { "\(input)→\(cout) k\(kernel) s\(stride) p\(padding) d\(dilation) g\(groups)" }
    }

    static let cases: [Case] = [
        Case(input: [2, 3, 7, 9], cout: 5, kernel: (3, 3), padding: Padding2D(1)),
        Case(input: [2, 4, 5, 6], cout: 3, kernel: (1, 1)),                                    // pointwise: one GEMM per image
        Case(input: [2, 4, 9, 7], cout: 6, kernel: (3, 3), stride: (2, 2), padding: Padding2D(1)),
        Case(input: [1, 3, 8, 8], cout: 4, kernel: (3, 3), stride: (2, 2),
             padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1)),                           // diffusers' Downsample2D
        Case(input: [1, 3, 9, 6], cout: 2, kernel: (5, 3), stride: (1, 2), padding: Padding2D(vertical: 2, horizontal: 0), bias: false),
        Case(input: [2, 2, 9, 9], cout: 3, kernel: (3, 3), padding: Padding2D(2), dilation: (2, 2)),
        Case(input: [2, 6, 6, 7], cout: 4, kernel: (3, 3), padding: Padding2D(1), groups: 2),
        Case(input: [1, 4, 5, 5], cout: 4, kernel: (1, 1), groups: 4),                          // depthwise pointwise
        Case(input: [1, 2, 5, 5], cout: 3, kernel: (1, 1), stride: (2, 2)),                     // strided 1×1: not pointwise
    ]

    /// Both paths: oneDNN's backward-data / backward-weights primitives (the default) and the
    /// im2col + GEMM kernels.
    @Test(arguments: cases, [true, false])
    func conv2d(_ c: Case, oneDNN: Bool) {
        OneDNNConvolution.$enabled.withValue(oneDNN) { check(c, backend: oneDNN ? "oneDNN " : "im2col ") }
    }

    /// Winograd F(4×4, 3×3), what `diffuse train` runs: on the shapes it takes (3×3, stride 1,
    /// channels in 16-blocks) the gradients still match float64 finite differences, with the kernel
    /// this CPU gets by default (oneDNN's on AVX-512, Diffuse's own on AVX2) and with Diffuse's own
    /// forced. The test prints which kernels ran.
    @Test(arguments: [Case(input: [2, 16, 8, 8], cout: 32, kernel: (3, 3), padding: Padding2D(1)),
                      Case(input: [1, 32, 10, 9], cout: 16, kernel: (3, 3), padding: Padding2D(1), bias: false)],
          [WinogradConvolution.Kernel.automatic, .diffuse])
    func winograd(_ c: Case, kernel: WinogradConvolution.Kernel) throws {
        try OneDNNConvolution.$algorithm.withValue(.winograd) {
            try WinogradConvolution.$kernel.withValue(kernel) {
                let g = ConvGeometry(kernel: c.kernel, stride: c.stride, padding: c.padding)
                let weight = [c.cout, c.input[1], c.kernel.0, c.kernel.1]
                let runner: String
                if WinogradConvolution.isActive {
                    // Diffuse's kernels take the shape (forward returns a result rather than nil).
                    let x = Tensor.zeros(c.input), w = Tensor.zeros(weight)
                    #expect(WinogradConvolution.forward(x, weight: w, bias: nil, geometry: g, groups: 1) != nil)
                    runner = "Diffuse's Winograd kernels"
                } else {
                    var names: [String] = []
                    for kind in [OneDNNConvolution.Kind.forward, .backwardData, .backwardWeights] {
                        names.append(try #require(OneDNNConvolution.implementation(kind, input: c.input, weight: weight, geometry: g,
                                                                                    groups: 1, hasBias: c.bias && kind != .backwardData)))
                    }
                    runner = "oneDNN \(names.joined(separator: ", "))"
                }
                print("[grad] winograd (\(kernel)) requested for \(c.testDescription): \(runner) runs")
                check(c, backend: runner + " ")
            }
        }
    }

    func check(_ c: Case, backend: String) {
        var rng = TestRandom(seed: UInt64(c.input.reduce(0, +) * 31 + c.cout))
        let x = c.input[0] == 2 ? rng.strided(c.input) : rng.tensor(c.input)
        let wShape = [c.cout, c.input[1] / c.groups, c.kernel.0, c.kernel.1]
        let w = rng.tensor(wShape, scale: 0.4), b = rng.tensor([c.cout])
        let pad = (c.padding.top, c.padding.bottom, c.padding.left, c.padding.right)
        GradientCheck.run(backend + c.testDescription, inputs: c.bias ? [x, w, b] : [x, w], f32: { v in
            [v[0].conv2d(weight: v[1], bias: c.bias ? v[2] : nil, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)]
        }, f64: { v in
            [Ref64.conv2d(v[0], c.input, v[1], wShape, bias: c.bias ? v[2] : nil, stride: c.stride, pad: pad, dilation: c.dilation, groups: c.groups)]
        })
    }

    @Test(arguments: [true, false])
    func frozenWeightsOrInput(oneDNN: Bool) {
        OneDNNConvolution.$enabled.withValue(oneDNN) { frozenWeightsOrInputCheck() }
    }

    func frozenWeightsOrInputCheck() {
        // Only the gradients that are needed are computed; each must still be right on its own.
        var rng = TestRandom(seed: 80)
        let x = rng.tensor([2, 3, 6, 5]), w = rng.tensor([4, 3, 3, 3], scale: 0.4), b = rng.tensor([4])
        let f64: ([[Double]]) -> [[Double]] = { v in
            [Ref64.conv2d(v[0], [2, 3, 6, 5], v[1], [4, 3, 3, 3], bias: v[2], stride: (1, 1), pad: (1, 1, 1, 1))]
        }
        let f32: ([Variable]) -> [Variable] = { v in [v[0].conv2d(weight: v[1], bias: v[2], padding: Padding2D(1))] }
        GradientCheck.run("conv2d input only", inputs: [x, w, b], differentiable: [true, false, false], f32: f32, f64: f64)
        GradientCheck.run("conv2d weight and bias only", inputs: [x, w, b], differentiable: [false, true, true], f32: f32, f64: f64)
    }

    @Test(arguments: [1, 2], [true, false])
    func largeImagesSpanSeveralTiles(_ batch: Int, oneDNN: Bool) {
        OneDNNConvolution.$enabled.withValue(oneDNN) { largeImages(batch) }
    }

    func largeImages(_ batch: Int) {
        // 64·3·3 = 576 patch rows × 56·56 positions is more than one 6 MB patch-matrix tile, so the
        // backward pass splits each image into tiles (batch 1: tiles on all cores; batch 2: one
        // image per core). Finite differences are too slow here; the gradients are compared with
        // their float64 definitions: dX = Σ dY·W scattered back (the transposed convolution),
        // dW = Σ dY·X over the patches, db = Σ dY.
        let (cin, cout, size) = (64, 2, 56)
        var rng = TestRandom(seed: UInt64(82 + batch))
        let x = rng.tensor([batch, cin, size, size]), w = rng.tensor([cout, cin, 3, 3], scale: 0.1), b = rng.tensor([cout])
        let dy = rng.tensor([batch, cout, size, size])
        let (input, weight, bias) = (Variable(x, requiresGrad: true), Variable(w, requiresGrad: true), Variable(b, requiresGrad: true))
        input.conv2d(weight: weight, bias: bias, padding: Padding2D(1)).backward(gradient: dy)
        let g = doubles(dy), wd = doubles(w), xd = doubles(x)
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count), db = [Double](repeating: 0, count: cout)
        for n in 0 ..< batch { for co in 0 ..< cout { for oy in 0 ..< size { for ox in 0 ..< size {
            let gv = g[((n * cout + co) * size + oy) * size + ox]
            db[co] += gv
            for ci in 0 ..< cin { for ky in 0 ..< 3 { for kx in 0 ..< 3 {
                let iy = oy - 1 + ky, ix = ox - 1 + kx
                if iy < 0 || iy >= size || ix < 0 || ix >= size { continue }
                let xi = ((n * cin + ci) * size + iy) * size + ix, wi = ((co * cin + ci) * 3 + ky) * 3 + kx
                dx[xi] += gv * wd[wi]
                dw[wi] += gv * xd[xi]
            } } }
        } } } }
        let errors = [maxRelativeError(doubles(input.grad!), dx), maxRelativeError(doubles(weight.grad!), dw),
                      maxRelativeError(doubles(bias.grad!), db)]
        print("[grad] conv2d [\(batch), 64, 56, 56] 3×3 tiled: max relative error input/weight/bias \(errors.map { String(format: "%.2e", $0) })")
        #expect(errors.allSatisfy { $0 < 1e-4 })
    }
}
