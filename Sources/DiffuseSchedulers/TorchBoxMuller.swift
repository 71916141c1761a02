import Foundation

/// The Box–Muller step PyTorch's CPU `normal_` applies to each block of 16 uniform floats:
/// the first 8 values give the radii, the last 8 the angles, and the block is overwritten with
/// `r·cos θ` (first 8) and `r·sin θ` (last 8).
///
/// PyTorch has two implementations and which one runs depends on the machine:
/// - `avx2`: on any x86-64 CPU with AVX2 (AVX-512 machines use it too, since `normal_` is never
///   dispatched to the AVX-512 kernel) it uses the Cephes-derived `log256_ps` / `sincos256_ps`
///   polynomials from `avx_mathfun.h`. They are replayed here operation by operation in single
///   precision, including the multiply-adds that GCC fused into FMA instructions in PyTorch's
///   release build (read off the disassembly of `NormalFill16<float>` in `libtorch_cpu.so`), so
///   the results are bitwise identical.
/// - `scalar`: everywhere else (x86-64 without AVX2, ARM, Apple silicon) it calls the C library's
///   `logf`, `cosf`, `sinf`. This uses the same functions of the platform's C library, so it
///   matches PyTorch on the same platform (and differs by an ulp or so elsewhere).
enum TorchBoxMuller {
    /// `2π` rounded to float, as `_mm256_set1_ps(2.0f * c10::pi<double>)` makes it.
    static let twoPi = Float(bitPattern: 0x40C9_0FDB)

    static func transformAVX2(_ block: UnsafeMutablePointer<Float>) {
        for j in 0 ..< 8 {
            let u1 = 1 - block[j]
            let u2 = block[j + 8]
            let radius = ((-2 as Float) * CephesFloat.log(u1)).squareRoot()
            let theta = twoPi * u2
            let (sine, cosine) = CephesFloat.sincos(theta)
            // `_mm256_fmadd_ps(n, std = 1, mean = 0)`: exact, except that −0 becomes +0.
            block[j] = radius * cosine + 0
            block[j + 8] = radius * sine + 0
        }
    }

    static func transformScalar(_ block: UnsafeMutablePointer<Float>) {
        for j in 0 ..< 8 {
            let u1 = 1 - block[j]
            let u2 = block[j + 8]
            let radius = ((-2 as Float) * Foundation.log(u1)).squareRoot()
            // `2.0f * c10::pi<double> * u2` is evaluated in double, then stored as float.
            let theta = Float(2 * Double.pi * Double(u2))
            block[j] = radius * Foundation.cos(theta) + 0
            block[j + 8] = radius * Foundation.sin(theta) + 0
        }
    }
}

/// Single-precision `log` and `sincos` exactly as PyTorch's build of `avx_mathfun.h` (Giovanni
/// Garberoglio's AVX port of Julien Pommier's SSE port of Cephes) computes them: each step below is
/// one IEEE single-precision operation of the compiled vector code, in the same order.
/// `fma(a, b, c)` marks the places where GCC contracted `a * b + c` into one rounding; everything
/// else is rounded separately, as written in the C source.
enum CephesFloat {
    // Constants as the C code rounds its double literals to float.
    private static let minNormPos = Float(bitPattern: 0x0080_0000)
    private static let sqrtHalf = Float(bitPattern: 0x3F35_04F3)
    private static let logP: [Float] = [
        0x3D90_21BB, 0xBDEB_D1B8, 0x3DEF_251A, 0xBDFE_5D4F, 0x3E11_E9BF,
        0xBE2A_AE50, 0x3E4C_CEAC, 0xBE7F_FFFC, 0x3EAA_AAAA,
    ].map { Float(bitPattern: $0) }
    private static let logQ1 = Float(bitPattern: 0xB95E_8083)  // −2.12194440e-4
    private static let logQ2 = Float(bitPattern: 0x3F31_8000)  // 0.693359375

    private static let minusDP1 = Float(bitPattern: 0xBF49_0000)  // −0.78515625
    private static let minusDP2 = Float(bitPattern: 0xB97D_A000)  // −2.4187564849853515625e-4
    private static let minusDP3 = Float(bitPattern: 0xB322_2169)  // −3.77489497744594108e-8
    private static let sinP0 = Float(bitPattern: 0xB94C_A1F9)
    private static let sinP1 = Float(bitPattern: 0x3C08_839E)
    private static let sinP2 = Float(bitPattern: 0xBE2A_AAA3)
    private static let cosP0 = Float(bitPattern: 0x37CC_F5CE)
    private static let cosP1 = Float(bitPattern: 0xBAB6_061A)
    private static let cosP2 = Float(bitPattern: 0x3D2A_AAA5)
    private static let fourOverPi = Float(bitPattern: 0x3FA2_F983)

    /// Natural logarithm; NaN for `x <= 0`.
    static func log(_ input: Float) -> Float {
        let invalid = input <= 0
        var x = Swift.max(input, minNormPos)
        var exponent = Int32(bitPattern: x.bitPattern >> 23)
        x = Float(bitPattern: (x.bitPattern & ~0x7F80_0000) | (0.5 as Float).bitPattern)
        exponent -= 0x7F
        var e = Float(exponent)
        e = e + 1
        let below = x < sqrtHalf
        let tmp: Float = below ? x : 0
        x = x - 1
        e = e - (below ? 1 : 0)
        x = x + tmp

        let z = x * x
        var y = logP[0]
        for k in 1 ..< 9 { y = fma(y, x, logP[k]) }
        y = y * x
        y = fma(y, z, e * logQ1)
        y = fma(-z, 0.5, y)
        x = x + y
        x = fma(e, logQ2, x)
        return invalid ? Float(bitPattern: x.bitPattern | 0xFFFF_FFFF) : x
    }

    /// `(sin x, cos x)`.
    static func sincos(_ input: Float) -> (sin: Float, cos: Float) {
        var signSin = input.bitPattern & 0x8000_0000
        var x = Float(bitPattern: input.bitPattern & 0x7FFF_FFFF)
        var y = x * fourOverPi
        var j = Int32(y.rounded(.towardZero))  // cvttps: x < 2π here, so no overflow
        j = (j &+ 1) & ~1
        y = Float(j)
        let swapSignSin = UInt32(bitPattern: (j & 4) << 29)
        let usesSinPolynomial = (j & 2) == 0
        x = fma(y, minusDP1, x)
        x = fma(y, minusDP2, x)
        x = fma(y, minusDP3, x)
        let signCos = UInt32(bitPattern: (~(j &- 2) & 4) << 29)
        signSin ^= swapSignSin

        let z = x * x
        var c = fma(cosP0, z, cosP1)
        c = fma(c, z, cosP2)
        c = c * z
        c = fma(z, c, -(z * 0.5))
        c = c + 1

        var s = fma(sinP0, z, sinP1)
        s = fma(s, z, sinP2)
        s = s * z
        s = fma(x, s, x)

        // The vector code selects with bit masks and then adds the pieces; replay it literally so
        // that signed zeros come out the same.
        let sinFromS: Float = usesSinPolynomial ? s : 0
        let sinFromC: Float = usesSinPolynomial ? 0 : c
        s = s - sinFromS
        c = c - sinFromC
        let sine = sinFromC + sinFromS
        let cosine = c + s
        return (Float(bitPattern: sine.bitPattern ^ signSin), Float(bitPattern: cosine.bitPattern ^ signCos))
    }

    /// `a · b + c` with a single rounding.
    @inline(__always)
    private static func fma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }
}
