import DiffuseTensor

/// The chain rule for an elementwise function f: `g · f′`, where f′ is computed from a saved tensor
/// (the input x or the output y, whichever is cheaper), 8 lanes at a time.
protocol DerivativeKernel {
    static func apply(_ saved: Vec8, _ g: Vec8) -> Vec8
}

/// SiLU from x: σ(x)·(1 + x·(1 − σ(x))).
enum SiLUDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ x: Vec8, _ g: Vec8) -> Vec8 {
        let s = VectorMath.sigmoid(x)
        return g * s * (1 + x * (1 - s))
    }
}

/// Sigmoid from y: y(1 − y).
enum SigmoidDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ y: Vec8, _ g: Vec8) -> Vec8 { g * y * (1 - y) }
}

/// Exact GELU from x: Φ(x) + x·φ(x).
enum GELUDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ x: Vec8, _ g: Vec8) -> Vec8 {
        let cdf = 0.5 * (1 + VectorMath.erf(x * 0.70710678118654752))
        let pdf = VectorMath.exp(-0.5 * x * x) * 0.39894228040143268
        return g * VectorMath.fma(x, pdf, cdf)
    }
}

/// Tanh-approximated GELU from x: ½(1 + t) + ½x(1 − t²)·c(1 + 3·0.044715x²), t = tanh(c(x + 0.044715x³)).
enum GELUTanhDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ x: Vec8, _ g: Vec8) -> Vec8 {
        let c: Float = 0.79788456080286536
        let x2 = x * x
        let t = VectorMath.tanh(c * (x + 0.044715 * x2 * x))
        let inner = c * (1 + 0.134145 * x2)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner)
    }
}

/// Quick GELU from x: s + 1.702·x·s(1 − s), s = σ(1.702x).
enum QuickGELUDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ x: Vec8, _ g: Vec8) -> Vec8 {
        let s = VectorMath.sigmoid(1.702 * x)
        return g * (s + 1.702 * x * s * (1 - s))
    }
}

/// ReLU from x: 1 where x > 0.
enum ReLUDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ x: Vec8, _ g: Vec8) -> Vec8 { g.replacing(with: 0, where: x .<= 0) }
}

/// exp from y: y.
enum ExpDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ y: Vec8, _ g: Vec8) -> Vec8 { g * y }
}

/// tanh from y: 1 − y².
enum TanhDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ y: Vec8, _ g: Vec8) -> Vec8 { g * (1 - y * y) }
}

/// erf from x: (2/√π)·e^(−x²).
enum ErfDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ x: Vec8, _ g: Vec8) -> Vec8 { g * VectorMath.exp(-x * x) * 1.1283791670955126 }
}

/// x² from x: 2x.
enum SquareDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ x: Vec8, _ g: Vec8) -> Vec8 { g * (x + x) }
}

/// √x from y: 1/(2y).
enum SquareRootDerivative: DerivativeKernel {
    @inline(__always) static func apply(_ y: Vec8, _ g: Vec8) -> Vec8 { g * 0.5 / y }
}

enum DerivativeLoops {
    /// `K(saved, gradient)` elementwise; both have the same shape (any strides).
    static func apply<K: DerivativeKernel>(_: K.Type, saved: Tensor, gradient: Tensor) -> Tensor {
        require(saved.shape == gradient.shape, "derivative: \(saved.shape) vs \(gradient.shape)")
        let s = saved.contiguous(), g = gradient.contiguous()
        let out = Tensor(uninitializedShape: saved.shape)
        let sp = s.pointer, gp = g.pointer, y = out.pointer
        Parallel.forRange(out.count, minPerThread: 1 << 14) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                VectorMath.store(K.apply(VectorMath.load(sp + i), VectorMath.load(gp + i)), y + i)
                i += 8
            }
            if i < r.upperBound {
                let n = r.upperBound - i
                // Pad the saved value with 1 (harmless for every kernel, including 1/(2y)).
                VectorMath.storePartial(K.apply(VectorMath.loadPartial(sp + i, n, fill: 1), VectorMath.loadPartial(gp + i, n)), y + i, n)
            }
        }
        withExtendedLifetime((s, g)) {}
        return out
    }

    /// `gradient` where `lower ≤ saved ≤ upper`, 0 elsewhere (the derivative of clamping).
    static func insideBounds(saved: Tensor, gradient: Tensor, lower: Float, upper: Float) -> Tensor {
        require(saved.shape == gradient.shape, "derivative: \(saved.shape) vs \(gradient.shape)")
        let s = saved.contiguous(), g = gradient.contiguous()
        let out = Tensor(uninitializedShape: saved.shape)
        let sp = s.pointer, gp = g.pointer, y = out.pointer
        let lo = Vec8(repeating: lower), hi = Vec8(repeating: upper)
        Parallel.forRange(out.count, minPerThread: 1 << 15) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let x = VectorMath.load(sp + i)
                VectorMath.store(VectorMath.load(gp + i).replacing(with: 0, where: (x .< lo) .| (x .> hi)), y + i)
                i += 8
            }
            while i < r.upperBound { y[i] = sp[i] >= lower && sp[i] <= upper ? gp[i] : 0; i += 1 }
        }
        withExtendedLifetime((s, g)) {}
        return out
    }
}
