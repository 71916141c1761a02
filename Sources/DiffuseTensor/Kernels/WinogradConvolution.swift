import CDiffuseKernels
import Foundation

/// Diffuse's own Winograd F(4×4, 3×3) convolutions (`winograd.c`, AVX2 + FMA) for CPUs where
/// oneDNN has no Winograd kernel (it has one for AVX-512 only): the forward pass, the input
/// gradient and the weight gradient of 3×3, stride-1 convolutions whose channel counts are
/// multiples of 16, when the task's convolution algorithm is `.winograd`
/// (`OneDNNConvolution.algorithm`: training and the VAE choose it).
///
/// Each 4×4 tile of outputs is computed from a 6×6 tile of inputs with 36 multiplications per
/// channel pair instead of 144; the 36 transformed elements are 36 matrix products over the
/// channels (tiles × Cin by Cin × Cout), run in blocks of tiles that stay in the L2 cache. The
/// rounding error is a few times that of the direct sums (relative ~2e-6 against float64).
///
/// `EngineSettings.winogradKernel` (or `$kernel` for a task) picks the kernel: `automatic` (the default) takes oneDNN's where it has one and these otherwise.
public enum WinogradConvolution {
    /// Whose Winograd kernel runs `.winograd` convolutions.
    public enum Kernel: String, Sendable, CaseIterable {
        /// oneDNN's where this CPU has it (AVX-512), Diffuse's otherwise.
        case automatic
        /// oneDNN's only (direct convolutions where it has none).
        case onednn
        /// Diffuse's, wherever the shape fits.
        case diffuse
    }

    /// The kernel choice for this task. Default: `EngineSettings.winogradKernel`.
    @TaskLocal public static var kernel: Kernel = EngineSettings.current.winogradKernel

    /// Whether oneDNN has a Winograd kernel on this CPU (probed once on a 16-channel shape with
    /// enough positions for `.automatic` to ask for it too).
    public static let oneDNNHasWinograd: Bool = OneDNNConvolution.$algorithm.withValue(.winograd) {
        OneDNNConvolution.implementation(.forward, input: [1, 16, 32, 32], weight: [16, 16, 3, 3],
                                         geometry: ConvGeometry(kernel: (3, 3), padding: Padding2D(1)), groups: 1,
                                         hasBias: false)?.contains("wino") == true
    }

    /// Whether convolutions in this task run here when their shape fits.
    public static var isActive: Bool {
        guard OneDNNConvolution.effectiveAlgorithm != .direct else { return false }
        switch kernel {
        case .diffuse: return true
        case .onednn: return false
        case .automatic: return !oneDNNHasWinograd
        }
    }

    /// Whether a convolution of `input` by `weight` runs here in this task (`forward` returns a result).
    public static func takes(input: [Int], weight: [Int], geometry: ConvGeometry, groups: Int) -> Bool {
        shape(input: input, weight: weight, geometry: geometry, groups: groups) != nil
    }

    /// The tiling of a convolution of `input` (`[N, Cin, H, W]`) by `weight` (`[Cout, Cin, 3, 3]`),
    /// or nil when these kernels do not take it (or are not active).
    static func shape(input: [Int], weight: [Int], geometry g: ConvGeometry, groups: Int) -> dk_wino_shape? {
        guard isActive, groups == 1, input.count == 4, weight.count == 4, weight[1] == input[1], weight[2] == 3,
              weight[3] == 3, g.strideY == 1, g.strideX == 1, g.dilationY == 1, g.dilationX == 1 else { return nil }
        let (oh, ow) = g.outputSize(height: input[2], width: input[3])
        guard OneDNNConvolution.asksForWinograd(input: input, outputHeight: oh, outputWidth: ow) else { return nil }
        var s = dk_wino_shape()
        dk_wino_shape_init(&s, Int64(input[0]), Int64(input[1]), Int64(input[2]), Int64(input[3]), Int64(weight[0]),
                           Int64(g.padTop), Int64(g.padLeft), Int64(g.padBottom), Int64(g.padRight))
        guard dk_wino_supports(&s) != 0 else { return nil }
        // `.automatic` takes Winograd only where the temporaries fit the shared scratch buffer.
        if OneDNNConvolution.effectiveAlgorithm == .automatic, forwardBuffers(s).reduce(0, +) > OneDNNRuntime.keptScratchFloats {
            return nil
        }
        return s
    }

    /// The floats of a forward call's temporaries: the padded NHWC input, the transformed weights
    /// and each thread's block scratch (whole 64-byte lines).
    private static func forwardBuffers(_ s: dk_wino_shape) -> [Int] {
        var s = s
        let tiles = Int(s.tiles), block = blockTiles(s)
        let threads = Swift.min(Parallel.threadCount, (tiles + block - 1) / block)
        let scratchFloats = (Int(dk_wino_forward_scratch_floats(&s, Int64(block))) + 15) & ~15
        return [Int(s.n * s.hp * s.wp * s.c), Int(dk_wino_packed_weight_floats(&s)), threads * scratchFloats]
    }

    /// `[N, Cout, OH, OW]` = `x` convolved with `weight` plus `bias`, or nil when these kernels do not
    /// take the shape. All tensors contiguous.
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry, groups: Int) -> Tensor? {
        guard var s = shape(input: x.shape, weight: weight.shape, geometry: geometry, groups: groups) else { return nil }
        return run(&s, input: x, weight: weight, flipped: false, bias: bias)
    }

    /// The input gradient `[N, Cin, H, W]` of a convolution of an input of `inputShape` for `dy`
    /// (`[N, Cout, OH, OW]`): the forward convolution of `dy` with each kernel turned by 180° and
    /// the channel roles swapped, padded by 2 − each padding. Nil when these kernels do not take it.
    public static func inputGradient(_ dy: Tensor, weight: Tensor, inputShape: [Int], geometry g: ConvGeometry,
                                     groups: Int) -> Tensor? {
        guard shape(input: inputShape, weight: weight.shape, geometry: g, groups: groups) != nil,
              g.padTop <= 2, g.padBottom <= 2, g.padLeft <= 2, g.padRight <= 2 else { return nil }
        var s = dk_wino_shape()
        dk_wino_shape_init(&s, Int64(dy.shape[0]), Int64(dy.shape[1]), Int64(dy.shape[2]), Int64(dy.shape[3]),
                           Int64(inputShape[1]), Int64(2 - g.padTop), Int64(2 - g.padLeft), Int64(2 - g.padBottom),
                           Int64(2 - g.padRight))
        guard dk_wino_supports(&s) != 0, s.oh == inputShape[2], s.ow == inputShape[3] else { return nil }
        return run(&s, input: dy, weight: weight, flipped: true, bias: nil)
    }

    /// Pads `input` into NHWC, transforms the weights and runs the tiles in blocks over the cores.
    private static func run(_ s: inout dk_wino_shape, input x: Tensor, weight: Tensor, flipped: Bool, bias: Tensor?) -> Tensor {
        let shape = s
        let tiles = Int(s.tiles), block = blockTiles(s)
        let blocks = (tiles + block - 1) / block, threads = Swift.min(Parallel.threadCount, blocks)
        let buffers = forwardBuffers(s), scratchFloats = buffers[2] / threads
        let y = Tensor(uninitializedShape: [Int(s.n), Int(s.k), Int(s.oh), Int(s.ow)])
        withBuffers(buffers) { parts in
            let (xpad, u, scratch) = (parts[0], parts[1], parts[2])
            nhwc(x, into: xpad, padTop: Int(shape.pad_top), padLeft: Int(shape.pad_left), height: Int(shape.hp), width: Int(shape.wp))
            Parallel.forRange(Int(shape.k) / 16) { panels in
                withUnsafePointer(to: shape) {
                    dk_wino_pack_weights($0, weight.pointer, flipped ? 1 : 0, Int64(panels.lowerBound), Int64(panels.count), u)
                }
            }
            Parallel.run(parts: threads) { t in
                withUnsafePointer(to: shape) { sp in
                    for b in (t * blocks / threads) ..< ((t + 1) * blocks / threads) {
                        let first = b * block
                        dk_wino_forward_tiles(sp, xpad, u, bias?.pointer, Int64(first), Int64(Swift.min(block, tiles - first)),
                                              y.pointer, scratch + t * scratchFloats)
                    }
                }
            }
        }
        withExtendedLifetime((weight, bias)) {}
        return y
    }

    /// The bytes of a block's transformed inputs and products: half the L2 cache of the reference
    /// Zen 3 (512 KB); 128 KB to 1 MB measured alike (BENCHMARKS.md).
    static let blockBytes = 256 << 10

    /// Tiles per block: the block's transformed inputs and products (36 · tiles · (Cin + Cout)
    /// floats) within `blockBytes`, a multiple of 6 (the product kernel's rows), and as many
    /// blocks as make every thread's share equal.
    static func blockTiles(_ s: dk_wino_shape) -> Int {
        let tiles = Int(s.tiles), threads = Parallel.threadCount
        let budget = Swift.max(6, blockBytes / (36 * 4 * Int(s.c + s.k)) / 6 * 6)
        var blocks = (tiles + budget - 1) / budget
        blocks = (blocks + threads - 1) / threads * threads
        return Swift.max(6, ((tiles + blocks - 1) / blocks + 5) / 6 * 6)
    }

    /// Writes the zero-padded NHWC copy of `x` (`[N, C, H, W]`) to `out`: `height × width` pixels per
    /// image with the image at (`padTop`, `padLeft`).
    private static func nhwc(_ x: Tensor, into out: UnsafeMutablePointer<Float>, padTop: Int, padLeft: Int, height: Int,
                             width: Int) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        Parallel.forRange(n * height) { rows in
            dk_wino_to_nhwc(x.pointer, Int64(c), Int64(h), Int64(w), Int64(padTop), Int64(padLeft), Int64(height),
                            Int64(width), Int64(rows.lowerBound), Int64(rows.count), out)
        }
        withExtendedLifetime(x) {}
    }

    /// The weight gradient `[Cout, Cin, 3, 3]` of a convolution of `x` for `dy`, or nil when these
    /// kernels do not take the shape: the inputs' and the output gradient's transformed tiles, 36
    /// products over all tiles (dU[e] = V[e]ᵀ · dM[e], spread over the cores), and dW = Gᵀ·dU·G.
    public static func weightGradient(_ dy: Tensor, input x: Tensor, weightShape: [Int], geometry: ConvGeometry,
                                      groups: Int) -> Tensor? {
        guard let s = shape(input: x.shape, weight: weightShape, geometry: geometry, groups: groups) else { return nil }
        let (c, k, tiles) = (Int(s.c), Int(s.k), Int(s.tiles))
        let shape = s
        let (qh, qw) = (4 * Int(s.tiles_y), 4 * Int(s.tiles_x))
        let dw = Tensor(uninitializedShape: weightShape)
        withBuffers([Int(s.n * s.hp * s.wp) * c, Int(s.n) * qh * qw * k, 36 * tiles * c, 36 * tiles * k, 36 * c * k]) { parts in
            let (xpad, dypad, v, dm, du) = (parts[0], parts[1], parts[2], parts[3], parts[4])
            nhwc(x, into: xpad, padTop: Int(shape.pad_top), padLeft: Int(shape.pad_left), height: Int(shape.hp), width: Int(shape.wp))
            nhwc(dy, into: dypad, padTop: 0, padLeft: 0, height: qh, width: qw)
            Parallel.forRange(tiles) { range in
                withUnsafePointer(to: shape) { sp in
                    let first = range.lowerBound
                    dk_wino_input_tiles(sp, xpad, Int64(first), Int64(range.count), v + first * c, Int64(tiles * c))
                    dk_wino_output_gradient_tiles(sp, dypad, Int64(first), Int64(range.count), dm + first * k, Int64(tiles * k))
                }
            }
            Parallel.forEach(36) { e in
                BLAS.gemm(m: c, n: k, k: tiles, BLAS.Operand(v + e * tiles * c, ld: c, transposed: true),
                          BLAS.Operand(dm + e * tiles * k, ld: k), du + e * c * k, ldc: k)
            }
            Parallel.forRange(k / 8) { groups in  // eight output channels per vector
                withUnsafePointer(to: shape) {
                    dk_wino_weight_gradient($0, du, Int64(8 * groups.lowerBound), Int64(8 * groups.count), dw.pointer)
                }
            }
        }
        return dw
    }

    /// Runs `body` with one buffer of each size in `floats` (each starting on a 64-byte line),
    /// carved from the scratch buffer oneDNN's calls share (`OneDNNRuntime`: one call at a time,
    /// grown to the largest request up to 512 MB). A training step of the issue-4 UNet asks for
    /// 2–114 MB per call in some 40 sizes, which as separate tensors overflowed the buffer pool and
    /// cost a page fault per 4 KB of each.
    private static func withBuffers(_ floats: [Int], _ body: ([UnsafeMutablePointer<Float>]) -> Void) {
        let rounded = floats.map { ($0 + 15) & ~15 }
        _ = OneDNNRuntime.run(scratchFloats: rounded.reduce(0, +)) { scratch in
            var next = scratch!
            body(rounded.map { count in
                defer { next += count }
                return next
            })
            return 0
        }
    }
}
