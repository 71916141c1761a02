import CDiffuseDNNL
import Foundation

/// Convolutions on oneDNN (Debian `libdnnl-dev`): its JIT kernels pick the CPU's widest vectors at
/// run time (AVX2 + FMA on the reference EPYC, AVX-512 where present) and work on blocked layouts,
/// without the im2col patch matrices of `Tensor.conv2d`'s own path. Diffuse's tensors stay plain
/// NCHW; each call reorders into the layouts oneDNN picked and back (memory-bound copies, a few
/// percent of the convolution).
///
/// Primitives are built once per shape and kept (building one JIT-compiles its kernel, ~1 ms).
/// Calls are serialized: each one already uses every core through oneDNN's OpenMP threads.
///
/// `EngineSettings.convolution` `.im2col` turns it off for the process, and
/// `OneDNNConvolution.$enabled.withValue(false) { … }` for one task (the tests run both paths);
/// shapes oneDNN declines fall back to the im2col kernels on their own.
public enum OneDNNConvolution {
    /// Whether convolutions go to oneDNN. Default: on, unless `EngineSettings.convolution` is `.im2col`.
    @TaskLocal public static var enabled: Bool = EngineSettings.current.convolution == .onednn

    /// How oneDNN computes a 3×3 convolution.
    public enum Algorithm: String, Sendable, CaseIterable {
        /// Direct convolution (oneDNN's `jit:avx512_core` / `jit:avx2` kernels): what PyTorch's CPU
        /// convolutions compute, to within float rounding.
        case direct
        /// Winograd F(4×4, 3×3) for 3×3, stride-1 convolutions with channel counts in whole
        /// 16-blocks: oneDNN's `jit_wino_4x3` on AVX-512 CPUs, Diffuse's own `WinogradConvolution`
        /// on AVX2 ones; direct for the rest. 4× fewer multiplications, a few times the rounding
        /// error of the direct sums (relative ~1e-6 instead of ~5e-7 on the parity fixtures). Faster
        /// for the VAE and training (BENCHMARKS.md); slower for the UNet's low-resolution levels at
        /// inference, whose weights are re-transformed every call (see `.automatic`).
        case winograd
        /// Winograd where it pays at inference, direct elsewhere: where a call has enough output
        /// positions (`N·OH·OW ≥ winogradMinimumPositions`) to pay for transforming the weights
        /// again (every call does: that cost grows with the channels, not the image) and its
        /// temporaries fit the shared scratch buffer (`OneDNNRuntime`; larger ones would be fresh
        /// memory, page-faulted in at every call). For a Stable Diffusion 1.5 UNet these are the
        /// 3×3 convolutions of the 320- and 640-channel levels, and at 512² the 1280-channel 16² one.
        case automatic
    }

    /// The fewest output positions (`N·OH·OW`) for which `.automatic` takes Winograd. At 128
    /// positions (a 256² UNet's 8×8 level) the weight transform costs more than Winograd saves;
    /// from 512 on it costs less (BENCHMARKS.md).
    public static let winogradMinimumPositions = 512

    /// Whether a convolution of an input of shape `input` (`[N, Cin, H, W]`) with output `outputHeight`
    /// × `outputWidth` asks for Winograd under the current algorithm (whether a Winograd kernel
    /// takes its geometry, and under `.automatic` whether its temporaries fit, the kernel decides).
    public static func asksForWinograd(input: [Int], outputHeight: Int, outputWidth: Int) -> Bool {
        switch effectiveAlgorithm {
        case .direct: return false
        case .winograd: return true
        case .automatic: return input.count == 4 && input[0] * outputHeight * outputWidth >= winogradMinimumPositions
        }
    }

    /// The algorithm for convolutions in this task: `.direct` unless a caller (the VAE, training)
    /// chooses otherwise. `EngineSettings.convolutionAlgorithm` overrides every choice.
    @TaskLocal public static var algorithm: Algorithm = .direct

    /// The algorithm `EngineSettings.convolutionAlgorithm` forces on every call, if any.
    public static let forcedAlgorithm: Algorithm? = EngineSettings.current.convolutionAlgorithm

    /// The algorithm convolutions use now: `forcedAlgorithm`, else `algorithm`.
    public static var effectiveAlgorithm: Algorithm { forcedAlgorithm ?? algorithm }

    /// Which convolution a primitive computes.
    public enum Kind: Int32, Sendable { case forward = 0, backwardData = 1, backwardWeights = 2 }

    /// The implementation oneDNN picked for a convolution (e.g. `brgconv:avx512_core`), or nil when
    /// it declines the shape (or oneDNN is off).
    public static func implementation(_ kind: Kind, input: [Int], weight: [Int], geometry: ConvGeometry, groups: Int,
                                      hasBias: Bool) -> String? {
        guard let key = Key(kind, input: input, weight: weight, geometry: geometry, groups: groups, hasBias: hasBias),
              let primitive = primitive(for: key) else { return nil }
        return String(cString: dd_conv_implementation(primitive.pointer))
    }

    /// The most bytes of input and output one forward call may reorder before it runs in bands
    /// of output rows instead (each band's blocked copies then take about this much). A 512² VAE
    /// decode's full-resolution convolutions would otherwise hold 400–540 MB of blocked copies of
    /// their input and output at its memory peak. The weights' copy does not shrink with bands and
    /// does not count. Default: `EngineSettings.convolutionBandBytes`.
    @TaskLocal public static var bandBytes: Int = EngineSettings.current.convolutionBandBytes

    /// `[N, Cout, OH, OW]` = `x` (`[N, Cin, H, W]`) convolved with `weight` (`[Cout, Cin/groups, kh, kw]`)
    /// plus `bias` (`[Cout]`); all contiguous. Nil when oneDNN is off or declines the shape.
    ///
    /// A convolution whose input and output exceed `bandBytes` (stride 1 vertically) runs
    /// band by band over its output rows: each band reads its input rows (plus the kernel's halo)
    /// and writes its output rows in place, so the blocked copies are band-sized; the sums are the
    /// same, only oneDNN's blocking of them may differ (~1e-6).
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry, groups: Int) -> Tensor? {
        guard enabled, let key = Key(.forward, input: x.shape, weight: weight.shape, geometry: geometry, groups: groups,
                                     hasBias: bias != nil),
              let primitive = primitive(for: key) else { return nil }
        let out = run(key, primitive, x, weight: weight.pointer, packed: false, bias: bias)
        withExtendedLifetime(weight) {}
        return out
    }

    /// `forward` with a weight packed once (`PackedConvolutionWeight`): the call skips re-laying
    /// out the weight. Nil when oneDNN is off or declines the shape, or when the primitive for
    /// this input shape (or one of its bands) reads another layout than `weight` was packed in
    /// (`PackedConvolutionWeight.repacked(input:geometry:groups:hasBias:)` makes one that fits the
    /// whole shape's primitive; when a band's differs, callers fall back to the plain weight).
    public static func forward(_ x: Tensor, packed weight: PackedConvolutionWeight, bias: Tensor?, geometry: ConvGeometry,
                               groups: Int) -> Tensor? {
        guard enabled, let key = Key(.forward, input: x.shape, weight: weight.shape, geometry: geometry, groups: groups,
                                     hasBias: bias != nil),
              let primitive = primitive(for: key), weight.fits(primitive) else { return nil }
        if let bands = bands(of: key), !bands.allSatisfy({ weight.fits($0.primitive) }) { return nil }
        let out = run(key, primitive, x, weight: weight.storage.pointer, packed: true, bias: bias)
        withExtendedLifetime(weight) {}
        return out
    }

    /// One forward call (or its bands) of `primitive` for `key`; nil if oneDNN fails.
    private static func run(_ key: Key, _ primitive: Primitive, _ x: Tensor, weight: UnsafePointer<Float>, packed: Bool,
                            bias: Tensor?) -> Tensor? {
        let out = Tensor(uninitializedShape: [key.shape.n, key.shape.cout, key.shape.oh, key.shape.ow].map(Int.init))
        func call(_ p: Primitive, inputOffset: Int, outputOffset: Int) -> Int32 {
            p.run { scratch in
                packed ? dd_conv_forward_packed(p.pointer, x.pointer + inputOffset, weight, bias?.pointer,
                                                out.pointer + outputOffset, scratch)
                       : dd_conv_forward(p.pointer, x.pointer + inputOffset, weight, bias?.pointer,
                                         out.pointer + outputOffset, scratch)
            }
        }
        var status: Int32 = 0
        if let bands = bands(of: key) {
            for band in bands where status == 0 {
                status = call(band.primitive, inputOffset: band.inputOffset, outputOffset: band.outputOffset)
            }
        } else {
            status = call(primitive, inputOffset: 0, outputOffset: 0)
        }
        withExtendedLifetime((x, bias)) {}
        return check(status, key) ? out : nil
    }

    /// How many calls a forward convolution of these shapes makes under the current `bandBytes`
    /// (1 = unbanded), or nil when oneDNN is off or declines the shape.
    public static func bandCount(input: [Int], weight: [Int], geometry: ConvGeometry, groups: Int, hasBias: Bool) -> Int? {
        guard enabled, let key = Key(.forward, input: input, weight: weight, geometry: geometry, groups: groups, hasBias: hasBias),
              primitive(for: key) != nil else { return nil }
        return bands(of: key)?.count ?? 1
    }

    /// One band of a banded forward convolution: its primitive and where its input and output
    /// rows start (in floats, from the tensors' starts).
    struct Band {
        let primitive: Primitive
        let inputOffset: Int
        let outputOffset: Int
    }

    /// The bands `key` runs in when its input and output take more than `bandBytes`, or nil (one
    /// call): only vertical stride 1 without dilation, at least two bands, every band's primitive
    /// built. Worked out once per shape and `bandBytes`.
    static func bands(of key: Key) -> [Band]? {
        let bandKey = BandKey(key: key, bandBytes: bandBytes)
        bandLock.lock()
        let cached = bandCache[bandKey]
        bandLock.unlock()
        if let cached { return cached }
        let made = makeBands(of: key)
        bandLock.lock()
        bandCache[bandKey] = .some(made)
        bandLock.unlock()
        return made
    }

    private struct BandKey: Hashable {
        let key: Key
        let bandBytes: Int
    }
    private static let bandLock = NSLock()
    private nonisolated(unsafe) static var bandCache: [BandKey: [Band]?] = [:]

    private static func makeBands(of key: Key) -> [Band]? {
        let s = key.shape
        let activationBytes = 4 * Int(s.n * (s.cin * s.h * s.w + s.cout * s.oh * s.ow))
        guard key.kind == .forward, activationBytes > bandBytes, s.stride_y == 1, s.dilation_y == 1, s.oh >= 2 else { return nil }
        let rows = Swift.max(1, Int(s.oh) * bandBytes / activationBytes)
        guard rows < Int(s.oh) else { return nil }
        let (h, oh, kh, padTop) = (Int(s.h), Int(s.oh), Int(s.kh), Int(s.pad_top))
        var bands: [Band] = []
        for first in stride(from: 0, to: oh, by: rows) {
            let last = Swift.min(oh, first + rows)
            // Output rows first..<last read input rows first − padTop ..< last − padTop + kh − 1,
            // of which the ones outside the image are the band's own padding.
            let wantedStart = first - padTop, wantedEnd = last - padTop + kh - 1
            let start = Swift.max(0, wantedStart), end = Swift.min(h, wantedEnd)
            guard end > start else { return nil }
            var band = s
            band.h = Int64(end - start)
            band.oh = Int64(last - first)
            band.pad_top = Int64(start - wantedStart)
            band.pad_bottom = Int64(wantedEnd - end)
            band.src_rows = s.h
            band.dst_rows = s.oh
            guard let primitive = primitive(for: Key(.forward, shape: band)) else { return nil }
            bands.append(Band(primitive: primitive, inputOffset: start * Int(s.w), outputOffset: first * Int(s.ow)))
        }
        return bands
    }

    /// The input gradient `[N, Cin, H, W]` of a convolution of an input of shape `inputShape`, for
    /// `dy` (`[N, Cout, OH, OW]`); contiguous tensors. Nil when oneDNN is off or declines the shape.
    public static func inputGradient(_ dy: Tensor, weight: Tensor, inputShape: [Int], geometry: ConvGeometry,
                                     groups: Int) -> Tensor? {
        guard enabled, let key = Key(.backwardData, input: inputShape, weight: weight.shape, geometry: geometry,
                                     groups: groups, hasBias: false),
              let primitive = primitive(for: key) else { return nil }
        let dx = Tensor(uninitializedShape: inputShape)
        let status = primitive.run { scratch in
            dd_conv_backward_data(primitive.pointer, dy.pointer, weight.pointer, dx.pointer, scratch)
        }
        withExtendedLifetime((dy, weight)) {}
        return check(status, key) ? dx : nil
    }

    /// The weight gradient (`weightShape`) and, when `withBias`, the bias gradient (`[Cout]`) of a
    /// convolution of `x` for `dy`; contiguous tensors. Nil when oneDNN is off or declines the shape.
    public static func weightGradient(_ dy: Tensor, input x: Tensor, weightShape: [Int], geometry: ConvGeometry,
                                      groups: Int, withBias: Bool) -> (weight: Tensor, bias: Tensor?)? {
        guard enabled, let key = Key(.backwardWeights, input: x.shape, weight: weightShape, geometry: geometry,
                                     groups: groups, hasBias: withBias),
              let primitive = primitive(for: key) else { return nil }
        let dw = Tensor(uninitializedShape: weightShape)
        let db = withBias ? Tensor(uninitializedShape: [weightShape[0]]) : nil
        let status = primitive.run { scratch in
            dd_conv_backward_weights(primitive.pointer, x.pointer, dy.pointer, dw.pointer, db?.pointer, scratch)
        }
        withExtendedLifetime((dy, x)) {}
        return check(status, key) ? (dw, db) : nil
    }

    // MARK: - Primitive cache

    struct Key: Hashable {
        let kind: Kind
        let shape: dd_conv_shape
        /// Every field of `kind` and `shape`, for hashing and equality (the C struct is neither).
        private let fields: [Int64]

        init?(_ kind: Kind, input: [Int], weight: [Int], geometry g: ConvGeometry, groups: Int, hasBias: Bool) {
            guard input.count == 4, weight.count == 4, groups >= 1 else { return nil }
            let (oh, ow) = g.outputSize(height: input[2], width: input[3])
            guard oh > 0, ow > 0 else { return nil }
            self.init(kind, shape: dd_conv_shape(
                n: Int64(input[0]), cin: Int64(input[1]), h: Int64(input[2]), w: Int64(input[3]),
                cout: Int64(weight[0]), kh: Int64(weight[2]), kw: Int64(weight[3]), oh: Int64(oh), ow: Int64(ow),
                stride_y: Int64(g.strideY), stride_x: Int64(g.strideX), pad_top: Int64(g.padTop),
                pad_bottom: Int64(g.padBottom), pad_left: Int64(g.padLeft), pad_right: Int64(g.padRight),
                dilation_y: Int64(g.dilationY), dilation_x: Int64(g.dilationX), groups: Int64(groups),
                has_bias: hasBias ? 1 : 0, src_rows: 0, dst_rows: 0,
                winograd: !OneDNNConvolution.asksForWinograd(input: input, outputHeight: oh, outputWidth: ow) ? 0
                    : OneDNNConvolution.effectiveAlgorithm == .automatic ? Key.winogradIfItFits : 1))
        }

        /// `shape.winograd` for `.automatic`: Winograd unless its scratchpad exceeds the shared
        /// buffer (`primitive(for:)` then builds the direct primitive); the C side reads any
        /// nonzero value as Winograd.
        static let winogradIfItFits: Int32 = 2

        init(_ kind: Kind, shape s: dd_conv_shape) {
            self.kind = kind
            shape = s
            fields = [Int64(kind.rawValue), s.n, s.cin, s.h, s.w, s.cout, s.kh, s.kw, s.oh, s.ow, s.stride_y, s.stride_x,
                      s.pad_top, s.pad_bottom, s.pad_left, s.pad_right, s.dilation_y, s.dilation_x, s.groups,
                      Int64(s.has_bias), s.src_rows, s.dst_rows, Int64(s.winograd)]
        }
        static func == (a: Key, b: Key) -> Bool { a.fields == b.fields }
        func hash(into hasher: inout Hasher) { hasher.combine(fields) }
    }

    /// A built primitive; those in the cache live as long as the process (it is never emptied).
    final class Primitive: @unchecked Sendable {
        let pointer: OpaquePointer
        let scratchFloats: Int
        init(_ pointer: OpaquePointer) {
            self.pointer = pointer
            scratchFloats = dd_conv_scratch_floats(pointer)
        }
        deinit { dd_conv_destroy(pointer) }

        /// Runs `body` with a scratch buffer of `scratchFloats` floats, one oneDNN call at a time.
        func run(_ body: (UnsafeMutablePointer<Float>?) -> Int32) -> Int32 {
            OneDNNRuntime.run(scratchFloats: scratchFloats, body)
        }
    }

    private static let cacheLock = NSLock()
    private nonisolated(unsafe) static var cache: [Key: Primitive?] = [:]

    static func primitive(for key: Key) -> Primitive? {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[key] { return cached }
        var shape = key.shape
        var built = dd_conv_create(dd_conv_kind(UInt32(key.kind.rawValue)), &shape).map(Primitive.init)
        if shape.winograd == Key.winogradIfItFits, let winograd = built, winograd.scratchFloats > OneDNNRuntime.keptScratchFloats {
            shape.winograd = 0
            built = dd_conv_create(dd_conv_kind(UInt32(key.kind.rawValue)), &shape).map(Primitive.init)
        }
        cache[key] = .some(built)
        return built
    }

    /// A failed execution is a bug in the shim or an exhausted machine: say which convolution, then
    /// let the caller fall back.
    private static func check(_ status: Int32, _ key: Key) -> Bool {
        if status == 0 { return true }
        let s = key.shape
        FileHandle.standardError.write(Data(
            "warning: oneDNN \(key.kind) convolution [\(s.n), \(s.cin), \(s.h), \(s.w)] → \(s.cout) channels failed (status \(status)); using the im2col kernel\n".utf8))
        return false
    }
}
