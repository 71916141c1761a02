import DiffuseTensor
import Testing

/// Diffuse's own Winograd F(4×4, 3×3) kernels (`WinogradConvolution`, AVX2 + FMA), forced on with
/// `kernel = .diffuse` so they run on any x86-64 CPU: the forward pass, the input gradient and the
/// weight gradient against float64 sums, on shapes that exercise partial tiles at the right and
/// bottom edges, every padding from 0 to 2, several 8-channel groups and 16-channel panels, and
/// more tiles than one block (so several blocks run on each thread).
@Suite struct WinogradConvolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var input: [Int], cout: Int, padding: Padding2D
        var testDescription: String { "\(input)→\(cout) p\(padding)" }
    }

    static let cases: [Case] = [
        Case(input: [2, 32, 11, 13], cout: 48, padding: Padding2D(1)),
        Case(input: [3, 16, 9, 6], cout: 16, padding: Padding2D(top: 2, bottom: 0, left: 0, right: 2)),
        Case(input: [1, 64, 24, 20], cout: 32, padding: Padding2D(top: 0, bottom: 1, left: 1, right: 0)),
        Case(input: [40, 16, 4, 4], cout: 16, padding: Padding2D(1)),  // one tile per image
        Case(input: [4, 64, 24, 12], cout: 32, padding: Padding2D(1)),  // 72 tiles in 4 blocks of 18
    ]

    func withOwnKernels<R>(_ body: () throws -> R) rethrows -> R {
        try OneDNNConvolution.$algorithm.withValue(.winograd) {
            try WinogradConvolution.$kernel.withValue(.diffuse, operation: body)
        }
    }

    @Test(arguments: cases)
    func forwardMatchesFloat64(_ c: Case) throws {
        var rng = TestRandom(seed: UInt64(c.input.reduce(7, *) + c.cout))
        let weightShape = [c.cout, c.input[1], 3, 3]
        let x = rng.tensor(c.input), w = rng.tensor(weightShape, scale: 0.2), b = rng.tensor([c.cout])
        let g = ConvGeometry(kernel: (3, 3), padding: c.padding)
        let y = try withOwnKernels { try #require(WinogradConvolution.forward(x, weight: w, bias: b, geometry: g, groups: 1)) }
        let pad = (c.padding.top, c.padding.bottom, c.padding.left, c.padding.right)
        let (reference, shape) = Naive.conv2d(doubles(x), c.input, doubles(w), weightShape, bias: doubles(b), stride: (1, 1), pad: pad)
        expectClose(y, reference, shape: shape, tolerance: 2e-6, "winograd forward \(c.testDescription)")
        // Tensor.conv2d takes this path under the same settings.
        let viaConv = withOwnKernels { x.conv2d(weight: w, bias: b, padding: c.padding) }
        #expect(viaConv.scalars == y.scalars)
    }

    @Test(arguments: cases)
    func gradientsMatchFloat64(_ c: Case) throws {
        var rng = TestRandom(seed: UInt64(c.input.reduce(3, *) + 2 * c.cout))
        let (n, cin, h, w) = (c.input[0], c.input[1], c.input[2], c.input[3])
        let weightShape = [c.cout, cin, 3, 3]
        let g = ConvGeometry(kernel: (3, 3), padding: c.padding)
        let (oh, ow) = g.outputSize(height: h, width: w)
        let x = rng.tensor(c.input), weight = rng.tensor(weightShape, scale: 0.2), dy = rng.tensor([n, c.cout, oh, ow])
        let (dx, dw) = try withOwnKernels {
            (try #require(WinogradConvolution.inputGradient(dy, weight: weight, inputShape: c.input, geometry: g, groups: 1)),
             try #require(WinogradConvolution.weightGradient(dy, input: x, weightShape: weightShape, geometry: g, groups: 1)))
        }
        // y[b, o, i, j] = Σ x[b, ci, i + ky − top, j + kx − left] · w[o, ci, ky, kx]
        let xs = doubles(x), ws = doubles(weight), dys = doubles(dy)
        var dxRef = [Double](repeating: 0, count: xs.count), dwRef = [Double](repeating: 0, count: ws.count)
        for b in 0 ..< n { for o in 0 ..< c.cout { for i in 0 ..< oh { for j in 0 ..< ow {
            let grad = dys[((b * c.cout + o) * oh + i) * ow + j]
            for ci in 0 ..< cin { for ky in 0 ..< 3 { for kx in 0 ..< 3 {
                let sy = i + ky - c.padding.top, sx = j + kx - c.padding.left
                guard sy >= 0, sy < h, sx >= 0, sx < w else { continue }
                let xi = ((b * cin + ci) * h + sy) * w + sx, wi = ((o * cin + ci) * 3 + ky) * 3 + kx
                dxRef[xi] += grad * ws[wi]
                dwRef[wi] += grad * xs[xi]
            } } }
        } } } }
        expectClose(dx, dxRef, shape: c.input, tolerance: 2e-6, "winograd input gradient \(c.testDescription)")
        // Each weight's gradient sums over every output position (N·OH·OW terms), in float.
        expectClose(dw, dwRef, shape: weightShape, tolerance: 4e-6, "winograd weight gradient \(c.testDescription)")
    }

    /// Shapes the kernels decline: they return nil (and `Tensor.conv2d` takes another path).
    @Test func declinesOtherShapes() {
        withOwnKernels {
            let g = ConvGeometry(kernel: (3, 3), padding: Padding2D(1))
            let x = Tensor.zeros([1, 8, 8, 8]), w = Tensor.zeros([16, 8, 3, 3])
            #expect(WinogradConvolution.forward(x, weight: w, bias: nil, geometry: g, groups: 1) == nil)  // 8 input channels
            let x16 = Tensor.zeros([1, 16, 8, 8]), w16 = Tensor.zeros([16, 16, 3, 3])
            let strided = ConvGeometry(kernel: (3, 3), stride: (2, 2), padding: Padding2D(1))
            #expect(WinogradConvolution.forward(x16, weight: w16, bias: nil, geometry: strided, groups: 1) == nil)
            let wide = ConvGeometry(kernel: (3, 3), padding: Padding2D(3))
            #expect(WinogradConvolution.forward(x16, weight: w16, bias: nil, geometry: wide, groups: 1) == nil)
            #expect(WinogradConvolution.forward(x16, weight: w16, bias: nil, geometry: g, groups: 1) != nil)
        }
        // Only under the Winograd algorithm (unless DIFFUSE_CONV_ALG forces one for the process).
        if OneDNNConvolution.forcedAlgorithm == nil {
            WinogradConvolution.$kernel.withValue(.diffuse) { #expect(!WinogradConvolution.isActive) }
        }
    }
}
