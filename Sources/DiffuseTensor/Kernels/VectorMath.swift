/// Vectorized transcendental functions on 8 lanes (one AVX2 register), accurate to a few ulp.
/// Scalar tails use the same formulas through `SIMD8` so that results don't depend on alignment.
public typealias Vec8 = SIMD8<Float>

@usableFromInline let vLog2e: Float = 1.44269504088896341
@usableFromInline let vMagicRound: Float = 12582912.0  // 1.5·2^23: adding it rounds to an integer in the low mantissa bits

public enum VectorMath {
    /// eˣ (Cephes expf polynomial; relative error ≈ 2 ulp). 0 below −87.3; inputs above 88.7 are clamped.
    @inlinable @inline(__always)
    public static func exp(_ v: Vec8) -> Vec8 {
        expPolynomial(VectorMath.min(VectorMath.max(v, Vec8(repeating: -87.3)), Vec8(repeating: 88.7)), input: v)
    }

    /// eˣ for x ≤ 0 (−∞ included): `exp` without the upper clamp, for softmax rows already
    /// shifted by their maximum. Same polynomial, same results.
    @inlinable @inline(__always)
    public static func expNonPositive(_ v: Vec8) -> Vec8 {
        expPolynomial(VectorMath.max(v, Vec8(repeating: -87.3)), input: v)
    }

    /// eˣ of `clamped` (already inside [−87.3, 88.7]); 0 where the unclamped `input` was below −87.3.
    @inlinable @inline(__always)
    static func expPolynomial(_ clamped: Vec8, input v: Vec8) -> Vec8 {
        var x = clamped
        // n = round(x / ln 2)
        let t = fma(x, Vec8(repeating: vLog2e), Vec8(repeating: vMagicRound))
        let n = t - vMagicRound
        x = fma(n, Vec8(repeating: -0.693359375), x)
        x = fma(n, Vec8(repeating: 2.12194440e-4), x)
        let z = x * x
        var y = Vec8(repeating: 1.9875691500e-4)
        y = fma(y, x, Vec8(repeating: 1.3981999507e-3))
        y = fma(y, x, Vec8(repeating: 8.3334519073e-3))
        y = fma(y, x, Vec8(repeating: 4.1665795894e-2))
        y = fma(y, x, Vec8(repeating: 1.6666665459e-1))
        y = fma(y, x, Vec8(repeating: 5.0000001201e-1))
        y = fma(y, z, x + 1)
        // 2ⁿ from the integer in t's low mantissa bits.
        let bits = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        // Below the clamp the true value is a denormal or 0: return 0 (so that exp(−∞) is exactly 0).
        return (y * unsafeBitCast(bits, to: Vec8.self)).replacing(with: 0, where: v .< -87.3)
    }

    /// 1 / (1 + e⁻ˣ).
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Vec8) -> Vec8 {
        1 / (1 + exp(-x))
    }

    /// tanh x: an odd polynomial for |x| < 0.625 (Cephes tanhf), 1 − 2/(e²ˣ + 1) beyond.
    @inlinable @inline(__always)
    public static func tanh(_ x: Vec8) -> Vec8 {
        let a = VectorMath.abs(x)
        let z = x * x
        var p = Vec8(repeating: -5.70498872745e-3)
        p = fma(p, z, Vec8(repeating: 2.06390887954e-2))
        p = fma(p, z, Vec8(repeating: -5.37397155531e-2))
        p = fma(p, z, Vec8(repeating: 1.33314422036e-1))
        p = fma(p, z, Vec8(repeating: -3.33332819422e-1))
        let small = fma(x * z, p, x)
        let e = exp(2 * a)
        var large = 1 - 2 / (e + 1)
        large.replace(with: -large, where: x .< 0)
        return small.replacing(with: large, where: a .>= 0.625)
    }

    /// erf x: 1 − erfc|x| with the Chebyshev-fitted erfc of Numerical Recipes (relative error of
    /// erfc < 1.2·10⁻⁷), and the Taylor series below |x| = 0.25 where that loses relative accuracy.
    @inlinable @inline(__always)
    public static func erf(_ x: Vec8) -> Vec8 {
        let a = VectorMath.abs(x)
        let t = 1 / fma(a, Vec8(repeating: 0.5), Vec8(repeating: 1))
        var p = Vec8(repeating: 0.17087277)
        p = fma(p, t, Vec8(repeating: -0.82215223))
        p = fma(p, t, Vec8(repeating: 1.48851587))
        p = fma(p, t, Vec8(repeating: -1.13520398))
        p = fma(p, t, Vec8(repeating: 0.27886807))
        p = fma(p, t, Vec8(repeating: -0.18628806))
        p = fma(p, t, Vec8(repeating: 0.09678418))
        p = fma(p, t, Vec8(repeating: 0.37409196))
        p = fma(p, t, Vec8(repeating: 1.00002368))
        p = fma(p, t, Vec8(repeating: -1.26551223))
        let erfc = t * exp(fma(-a, a, p))
        var y = 1 - erfc
        let z = x * x
        var series = Vec8(repeating: -0.0268661706)
        series = fma(series, z, Vec8(repeating: 0.1128379167))
        series = fma(series, z, Vec8(repeating: -0.3761263890))
        series = fma(series, z, Vec8(repeating: 1.1283791671))
        y.replace(with: -y, where: x .< 0)
        return y.replacing(with: x * series, where: a .< 0.25)
    }

    /// a·b + c in one rounding (`vfmadd`).
    @inlinable @inline(__always)
    public static func fma(_ a: Vec8, _ b: Vec8, _ c: Vec8) -> Vec8 { c.addingProduct(a, b) }

    /// Lane-wise maximum (`vmaxps`; the standard library's generic `pointwiseMax` is not inlined).
    @inlinable @inline(__always)
    public static func max(_ a: Vec8, _ b: Vec8) -> Vec8 { a.replacing(with: b, where: a .< b) }

    /// Lane-wise minimum.
    @inlinable @inline(__always)
    public static func min(_ a: Vec8, _ b: Vec8) -> Vec8 { a.replacing(with: b, where: b .< a) }

    /// |x| (clears the sign bit).
    @inlinable @inline(__always)
    public static func abs(_ x: Vec8) -> Vec8 {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Vec8.self)
    }

    /// Loads up to 8 floats, padding with `fill`.
    @inlinable @inline(__always)
    public static func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, fill: Float = 0) -> Vec8 {
        var v = Vec8(repeating: fill)
        for i in 0 ..< n { v[i] = p[i] }
        return v
    }

    /// Stores the first `n` lanes of `v`.
    @inlinable @inline(__always)
    public static func storePartial(_ v: Vec8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0 ..< n { p[i] = v[i] }
    }

    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Vec8 {
        UnsafeRawPointer(p).loadUnaligned(as: Vec8.self)
    }

    @inlinable @inline(__always)
    public static func store(_ v: Vec8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec8.self)
    }
}
