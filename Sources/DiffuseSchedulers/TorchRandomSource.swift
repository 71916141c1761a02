import DiffuseTensor
import Foundation

/// PyTorch's CPU random generator, bit for bit: `TorchRandomSource(seed: s)` followed by
/// `randn(shape)` calls gives the float32 values of `g = torch.Generator().manual_seed(s)` followed
/// by the same `torch.randn(shape, generator=g)` calls, and `rand(shape)` those of `torch.rand`.
///
/// How PyTorch fills a float32 tensor with normal samples depends on its size:
/// - fewer than 16 elements: each element is a double-precision Box–Muller sample made from two
///   53-bit uniforms (two 64-bit draws). Each pair yields two samples; the second is cached in the
///   generator and returned by the next scalar draw, even one in a later `randn` call.
/// - 16 or more: one 24-bit uniform float per element (one 32-bit draw each), then Box–Muller in
///   place on blocks of 16; when the size is not a multiple of 16 the last 16 elements are drawn
///   again and recomputed. The cached scalar sample is left alone.
///
/// The block transform's `log`/`sin`/`cos` differ between PyTorch builds; see `NormalKernel`.
/// A value type: copying a source snapshots its stream.
public struct TorchRandomSource: RandomSource, Sendable {
    /// Which of PyTorch's block Box–Muller implementations to reproduce (tensors of ≥ 16 elements).
    public enum NormalKernel: String, Sendable, CaseIterable {
        /// PyTorch on x86-64 with AVX2 (including AVX-512 machines): the `avx_mathfun.h`
        /// polynomials. Reproduced exactly on any machine.
        case avx2
        /// PyTorch without AVX2 (ARM, Apple silicon, old x86): the C library's `logf`/`sinf`/`cosf`.
        /// Exact when this runs on the same platform (C library) as the PyTorch being matched.
        case scalar
    }

    /// The seed passed to `manual_seed` (only its low 32 bits affect the stream, as in PyTorch).
    public private(set) var seed: UInt64
    /// The Box–Muller implementation used for tensors of 16 or more elements.
    public let normalKernel: NormalKernel

    private var engine: MersenneTwister
    /// The second sample of the last scalar Box–Muller pair, not yet handed out
    /// (`CPUGeneratorImpl::next_double_normal_sample_`).
    private var cachedNormal: Double?

    /// A generator in the state `torch.Generator().manual_seed(seed)` leaves it in.
    public init(seed: UInt64, normalKernel: NormalKernel = .avx2) {
        self.seed = seed
        self.normalKernel = normalKernel
        self.engine = MersenneTwister(seed: seed)
        self.cachedNormal = nil
    }

    /// A generator seeded like `manual_seed(seed)` with a signed Python integer: negative seeds
    /// are taken modulo 2⁶⁴, as PyTorch does.
    public init(seed: Int, normalKernel: NormalKernel = .avx2) {
        self.init(seed: UInt64(bitPattern: Int64(seed)), normalKernel: normalKernel)
    }

    /// Restarts the stream, like `generator.manual_seed(seed)` (also forgets the cached sample).
    public mutating func manualSeed(_ seed: UInt64) {
        self = TorchRandomSource(seed: seed, normalKernel: normalKernel)
    }

    /// The next 32 random bits (`CPUGeneratorImpl::random`).
    public mutating func nextUInt32() -> UInt32 { engine.next() }

    /// The next 64 random bits (`CPUGeneratorImpl::random64`): two 32-bit draws, the first one high.
    public mutating func nextUInt64() -> UInt64 {
        let high = UInt64(engine.next())
        let low = UInt64(engine.next())
        return high << 32 | low
    }

    /// Normal samples as `torch.randn(shape, generator=g)` makes them (float32), as a tensor.
    public mutating func randn(_ shape: [Int]) -> Tensor {
        require(shape.allSatisfy { $0 >= 0 }, "randn: negative dimension in \(shape)")
        return Tensor(shape: shape, randnScalars(count: Tensor.elementCount(shape)))
    }

    /// `count` normal samples, as `torch.randn(count, generator=g)` makes them.
    public mutating func randnScalars(count: Int) -> [Float] {
        require(count >= 0, "randn: negative count \(count)")
        if count < 16 {
            return (0 ..< count).map { _ in Float(nextScalarNormal()) }
        }
        var values = [Float](repeating: 0, count: count)
        let transform = normalKernel == .avx2 ? TorchBoxMuller.transformAVX2 : TorchBoxMuller.transformScalar
        values.withUnsafeMutableBufferPointer { buffer in
            let data = buffer.baseAddress!
            for i in 0 ..< count { data[i] = nextUniformFloat() }
            var start = 0
            while start + 16 <= count {
                transform(data + start)
                start += 16
            }
            if count % 16 != 0 {
                let tail = data + (count - 16)
                for i in 0 ..< 16 { tail[i] = nextUniformFloat() }
                transform(tail)
            }
        }
        return values
    }

    /// Uniform samples in `[0, 1)` as `torch.rand(shape, generator=g)` makes them (float32): each is
    /// a 32-bit draw's low 24 bits divided by 2²⁴.
    public mutating func rand(_ shape: [Int]) -> Tensor {
        require(shape.allSatisfy { $0 >= 0 }, "rand: negative dimension in \(shape)")
        let count = Tensor.elementCount(shape)
        return Tensor(shape: shape, (0 ..< count).map { _ in nextUniformFloat() })
    }

    /// `at::uniform_real_distribution<float>(0, 1)`.
    private mutating func nextUniformFloat() -> Float {
        Float(engine.next() & 0xFF_FFFF) * 0x1p-24
    }

    /// `at::uniform_real_distribution<double>(0, 1)`.
    private mutating func nextUniformDouble() -> Double {
        Double(nextUInt64() & (1 << 53 - 1)) * 0x1p-53
    }

    /// `at::normal_distribution<double>(0, 1)`, with the generator's one-sample cache.
    private mutating func nextScalarNormal() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = nextUniformDouble()
        let u2 = nextUniformDouble()
        let radius = (-2 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2 * Double.pi * u1
        cachedNormal = radius * Foundation.sin(theta)
        return radius * Foundation.cos(theta)
    }
}
