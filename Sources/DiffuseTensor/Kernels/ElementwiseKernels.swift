/// Elementwise kernels as types, so that the loops are specialized (no per-element closures).

/// A function of one value, applied 8 lanes at a time.
public protocol UnaryKernel {
    static func apply(_ x: Vec8) -> Vec8
}

/// A function of two values, applied 8 lanes at a time.
public protocol BinaryKernel {
    static func apply(_ a: Vec8, _ b: Vec8) -> Vec8
}

public enum AddKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Vec8, _ b: Vec8) -> Vec8 { a + b } }
public enum SubtractKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Vec8, _ b: Vec8) -> Vec8 { a - b } }
public enum MultiplyKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Vec8, _ b: Vec8) -> Vec8 { a * b } }
public enum DivideKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Vec8, _ b: Vec8) -> Vec8 { a / b } }
public enum MaximumKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Vec8, _ b: Vec8) -> Vec8 { VectorMath.max(a, b) } }
public enum MinimumKernel: BinaryKernel { @inline(__always) public static func apply(_ a: Vec8, _ b: Vec8) -> Vec8 { VectorMath.min(a, b) } }

public enum SiLUKernel: UnaryKernel {
    @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { x * VectorMath.sigmoid(x) }
}
public enum SigmoidKernel: UnaryKernel {
    @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { VectorMath.sigmoid(x) }
}
/// GELU with the exact erf: x · ½(1 + erf(x/√2)).
public enum GELUKernel: UnaryKernel {
    @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { 0.5 * x * (1 + VectorMath.erf(x * 0.70710678118654752)) }
}
/// GELU's tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
public enum GELUTanhKernel: UnaryKernel {
    @inline(__always) public static func apply(_ x: Vec8) -> Vec8 {
        0.5 * x * (1 + VectorMath.tanh(0.79788456080286536 * (x + 0.044715 * x * x * x)))
    }
}
/// CLIP's quick GELU: x · σ(1.702x).
public enum QuickGELUKernel: UnaryKernel {
    @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { x * VectorMath.sigmoid(1.702 * x) }
}
public enum ExpKernel: UnaryKernel { @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { VectorMath.exp(x) } }
public enum TanhKernel: UnaryKernel { @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { VectorMath.tanh(x) } }
public enum ErfKernel: UnaryKernel { @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { VectorMath.erf(x) } }
public enum SquareKernel: UnaryKernel { @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { x * x } }
public enum SqrtKernel: UnaryKernel { @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { x.squareRoot() } }
public enum NegateKernel: UnaryKernel { @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { -x } }
public enum ReLUKernel: UnaryKernel { @inline(__always) public static func apply(_ x: Vec8) -> Vec8 { VectorMath.max(x, Vec8()) } }

/// Contiguous and broadcast inner loops.
enum ElementwiseLoops {
    @inline(__always)
    static func unary<K: UnaryKernel>(_: K.Type, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 16 <= n {
            VectorMath.store(K.apply(VectorMath.load(x + i)), y + i)
            VectorMath.store(K.apply(VectorMath.load(x + i + 8)), y + i + 8)
            i += 16
        }
        while i + 8 <= n {
            VectorMath.store(K.apply(VectorMath.load(x + i)), y + i)
            i += 8
        }
        if i < n { VectorMath.storePartial(K.apply(VectorMath.loadPartial(x + i, n - i)), y + i, n - i) }
    }

    /// `y[i] = K(a[i·sa], b[i·sb])` for `sa, sb ∈ {0, 1}` (vectorized) or any other strides (scalar lanes).
    @inline(__always)
    static func binary<K: BinaryKernel>(_: K.Type, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                                         _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        switch (sa, sb) {
        case (1, 1):
            while i + 8 <= n { VectorMath.store(K.apply(VectorMath.load(a + i), VectorMath.load(b + i)), y + i); i += 8 }
            if i < n { VectorMath.storePartial(K.apply(VectorMath.loadPartial(a + i, n - i), VectorMath.loadPartial(b + i, n - i)), y + i, n - i) }
        case (1, 0):
            let bv = Vec8(repeating: b.pointee)
            while i + 8 <= n { VectorMath.store(K.apply(VectorMath.load(a + i), bv), y + i); i += 8 }
            if i < n { VectorMath.storePartial(K.apply(VectorMath.loadPartial(a + i, n - i), bv), y + i, n - i) }
        case (0, 1):
            let av = Vec8(repeating: a.pointee)
            while i + 8 <= n { VectorMath.store(K.apply(av, VectorMath.load(b + i)), y + i); i += 8 }
            if i < n { VectorMath.storePartial(K.apply(av, VectorMath.loadPartial(b + i, n - i)), y + i, n - i) }
        default:
            while i < n {
                let m = Swift.min(8, n - i)
                var av = Vec8(), bv = Vec8()
                for l in 0 ..< m { av[l] = a[(i + l) * sa]; bv[l] = b[(i + l) * sb] }
                VectorMath.storePartial(K.apply(av, bv), y + i, m)
                i += m
            }
        }
    }
}
