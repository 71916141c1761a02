/// Elementwise arithmetic with NumPy/PyTorch broadcasting, and activations.
extension Tensor {
    /// Applies `K` to every element.
    public func map<K: UnaryKernel>(_ kernel: K.Type) -> Tensor {
        OpProfile.measure("unary") {
            let source = contiguous()
            let out = Tensor(uninitializedShape: shape)
            let x = source.pointer, y = out.pointer
            Parallel.forRange(count, minPerThread: 1 << 14) { r in
                ElementwiseLoops.unary(K.self, x + r.lowerBound, y + r.lowerBound, r.count)
            }
            return out
        }
    }

    /// Combines `self` and `other` elementwise after broadcasting both to a common shape.
    public func zipWith<K: BinaryKernel>(_ other: Tensor, _ kernel: K.Type) -> Tensor {
        OpProfile.measure("binary") {
            let outShape = Broadcasting.shape(shape, other.shape)
            let out = Tensor(uninitializedShape: outShape)
            let nest = LoopNest(shape: outShape, strides: [
                Tensor.contiguousStrides(outShape),
                Broadcasting.strides(of: self, in: outShape),
                Broadcasting.strides(of: other, in: outShape),
            ])
            let sa = nest.innerStride(1), sb = nest.innerStride(2)
            let y = out.pointer, a = pointer, b = other.pointer
            nest.run { offsets, n in
                ElementwiseLoops.binary(K.self, a + offsets[1], sa, b + offsets[2], sb, y + offsets[0], n)
            }
            return out
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, AddKernel.self) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, SubtractKernel.self) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, MultiplyKernel.self) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, DivideKernel.self) }
    public static prefix func - (a: Tensor) -> Tensor { a.map(NegateKernel.self) }

    public static func + (a: Tensor, b: Float) -> Tensor { a.affine(scale: 1, shift: b) }
    public static func - (a: Tensor, b: Float) -> Tensor { a.affine(scale: 1, shift: -b) }
    public static func * (a: Tensor, b: Float) -> Tensor { a.affine(scale: b, shift: 0) }
    public static func / (a: Tensor, b: Float) -> Tensor { a.affine(scale: 1 / b, shift: 0) }
    public static func + (a: Float, b: Tensor) -> Tensor { b.affine(scale: 1, shift: a) }
    public static func - (a: Float, b: Tensor) -> Tensor { b.affine(scale: -1, shift: a) }
    public static func * (a: Float, b: Tensor) -> Tensor { b.affine(scale: a, shift: 0) }

    public func maximum(_ other: Tensor) -> Tensor { zipWith(other, MaximumKernel.self) }
    public func minimum(_ other: Tensor) -> Tensor { zipWith(other, MinimumKernel.self) }

    /// `self · scale + shift`, elementwise.
    public func affine(scale: Float, shift: Float) -> Tensor {
        OpProfile.measure("affine") {
            let source = contiguous()
            let out = Tensor(uninitializedShape: shape)
            let x = source.pointer, y = out.pointer
            let s = Vec8(repeating: scale), b = Vec8(repeating: shift)
            Parallel.forRange(count, minPerThread: 1 << 15) { r in
                var i = r.lowerBound
                while i + 8 <= r.upperBound { VectorMath.store(VectorMath.load(x + i) * s + b, y + i); i += 8 }
                while i < r.upperBound { y[i] = x[i] * scale + shift; i += 1 }
            }
            return out
        }
    }

    /// Limits every element to `lower ... upper`.
    public func clamped(_ lower: Float, _ upper: Float) -> Tensor {
        precondition(lower <= upper, "clamped: lower bound \(lower) is above upper bound \(upper)")
        let source = contiguous()
        let out = Tensor(uninitializedShape: shape)
        let x = source.pointer, y = out.pointer
        let lo = Vec8(repeating: lower), hi = Vec8(repeating: upper)
        Parallel.forRange(count, minPerThread: 1 << 15) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound { VectorMath.store(VectorMath.min(VectorMath.max(VectorMath.load(x + i), lo), hi), y + i); i += 8 }
            while i < r.upperBound { y[i] = Swift.min(Swift.max(x[i], lower), upper); i += 1 }
        }
        return out
    }

    public func silu() -> Tensor { map(SiLUKernel.self) }
    public func sigmoid() -> Tensor { map(SigmoidKernel.self) }
    /// GELU; `approximate: true` is the tanh form (PyTorch's `approximate="tanh"`).
    public func gelu(approximate: Bool = false) -> Tensor { approximate ? map(GELUTanhKernel.self) : map(GELUKernel.self) }
    public func quickGELU() -> Tensor { map(QuickGELUKernel.self) }
    public func relu() -> Tensor { map(ReLUKernel.self) }
    public func exp() -> Tensor { map(ExpKernel.self) }
    public func tanh() -> Tensor { map(TanhKernel.self) }
    public func erf() -> Tensor { map(ErfKernel.self) }
    public func squared() -> Tensor { map(SquareKernel.self) }
    public func squareRoot() -> Tensor { map(SqrtKernel.self) }

    /// GEGLU: splits the last axis into halves `(h, g)` and returns `h · GELU(g)` (diffusers' `GEGLU`).
    public func geglu() -> Tensor {
        OpProfile.measure("geglu") {
            let halves = chunked(2, axis: -1)
            return halves[0] * halves[1].gelu()
        }
    }
}

/// Broadcasting rules (NumPy's): shapes align at the trailing axis; each pair of sizes must be equal or 1.
public enum Broadcasting {
    public static func shape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = Swift.max(a.count, b.count)
        return (0 ..< rank).map { i in
            let x = i - (rank - a.count) >= 0 ? a[i - (rank - a.count)] : 1
            let y = i - (rank - b.count) >= 0 ? b[i - (rank - b.count)] : 1
            precondition(x == y || x == 1 || y == 1, "broadcast: shapes \(a) and \(b) are incompatible")
            return x == 1 ? y : x
        }
    }

    /// Strides that read `tensor` as if expanded to `shape` (0 along broadcast axes).
    public static func strides(of tensor: Tensor, in shape: [Int]) -> [Int] {
        let lead = shape.count - tensor.rank
        return (0 ..< shape.count).map { i in
            i < lead || tensor.shape[i - lead] == 1 ? 0 : tensor.strides[i - lead]
        }
    }
}
