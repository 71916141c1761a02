import DiffuseNN
import DiffuseTensor

/// The change one LoRA file makes to one layer: ΔW = scale · product of its factors, reshaped to
/// the layer's weight (`[out, in]` for a linear layer, `[out, in, kh, kw]` for a convolution).
///
/// - low rank (LoRA, LoCon): `up` `[out, r(, 1, 1)]` · `down` `[r, in(, kh, kw)]`, or with a CP core
///   `mid` `[r, r, kh, kw]` between them (`lora_mid`);
/// - LoHa: (`w1_a` · `w1_b`) ⊙ (`w2_a` · `w2_b`), each `[out, r] · [r, in(·kh·kw)]`;
/// - LoKr: `w1` ⊗ `w2` (Kronecker product; each given whole or as two factors), `[a, b] ⊗ [c, d(·kh·kw)]`
///   → `[a·c, b·d(·kh·kw)]`.
///
/// `scale` is alpha / rank when the file gives an alpha (the rank is `down`'s or `w1_b`'s rows; for
/// LoKr the factored side's, and 1 when neither side is factored), else 1 — as kohya's scripts,
/// AUTOMATIC1111 and PEFT compute it.
public struct LoRALayer: @unchecked Sendable {
    /// A LoKr side: a whole matrix, or the product of two factors.
    public enum KroneckerSide: Sendable {
        case whole(String)
        case product(String, String)
    }

    /// The tensors (file keys) that make up the change.
    public enum Factors: Sendable {
        /// With `mid` `[r, r, kh, kw]` (LoCon's CP decomposition): `down` is `[r, in(, 1, 1)]` and
        /// ΔW[o, i, y, x] = Σ up[o, n] · mid[n, m, y, x] · down[m, i].
        case lowRank(down: String, up: String, mid: String?)
        case hadamard(w1a: String, w1b: String, w2a: String, w2b: String)
        case kronecker(w1: KroneckerSide, w2: KroneckerSide)
    }

    /// The layer changed.
    public var target: LoRATargets.Target
    public var factors: Factors
    /// alpha / rank, or 1.
    public var scale: Float
    /// Every file key read for this layer (factors and alpha).
    public var keys: [String]

    /// W += multiplier · scale · ΔW, in place: `weight` is a contiguous float32 tensor holding the
    /// target's weight (its shape, or any shape of as many values).
    public func accumulate(into weight: Tensor, multiplier: Float, from weights: WeightSource) throws {
        precondition(weight.isContiguous && weight.count == target.parameter.shape.reduce(1, *), "LoRALayer.accumulate: \(weight.shape)")
        /// The tensor as a row-major matrix: its leading axis × the rest.
        func matrix(_ key: String) throws -> Tensor {
            let t = try weights.tensor(named: key).contiguous()
            return t.reshaped([t.shape[0], t.count / Swift.max(t.shape[0], 1)])
        }
        let factor = multiplier * scale
        let rows = target.parameter.shape[0], columns = weight.count / rows
        switch factors {
        case .lowRank(let down, let up, let mid?):
            // (up · mid) as [out, r, kh·kw], its kernel positions brought forward, · down, then back.
            let (d, u, core) = (try matrix(down), try matrix(up), try weights.tensor(named: mid).contiguous())
            let (r, positions) = (core.shape[1], core.count / (core.shape[0] * core.shape[1]))
            let upCore = u.matmul(core.reshaped([core.shape[0], core.count / core.shape[0]])).reshaped([rows, r, positions])
            let product = upCore.permuted([0, 2, 1]).contiguous().matmul(d).permuted([0, 2, 1])
            Self.add(product, times: factor, to: weight)
        case .lowRank(let down, let up, nil):
            // One product added straight into the weight: C = factor · up · down + C.
            let (d, u) = (try matrix(down), try matrix(up))
            withExtendedLifetime((d, u)) {
                BLAS.parallelGemm(m: rows, n: columns, k: d.shape[0], alpha: factor, BLAS.Operand(u.pointer, ld: u.shape[1]),
                                  BLAS.Operand(d.pointer, ld: columns), beta: 1, weight.pointer, ldc: columns)
            }
        case .hadamard(let w1a, let w1b, let w2a, let w2b):
            let product = try matrix(w1a).matmul(matrix(w1b)) * matrix(w2a).matmul(matrix(w2b))
            Self.add(product, times: factor, to: weight)
        case .kronecker(let w1, let w2):
            func side(_ s: KroneckerSide) throws -> Tensor {
                switch s {
                case .whole(let key): return try matrix(key)
                case .product(let a, let b): return try matrix(a).matmul(matrix(b))
                }
            }
            Self.add(Self.kronecker(try side(w1).contiguous(), try side(w2).contiguous()), times: factor, to: weight)
        }
    }

    /// weight += factor · change (same number of values, both contiguous).
    static func add(_ change: Tensor, times factor: Float, to weight: Tensor) {
        let change = change.contiguous()
        precondition(change.count == weight.count)
        let (x, y) = (change.pointer, weight.pointer)
        for i in 0 ..< weight.count { y[i] += factor * x[i] }
        withExtendedLifetime(change) {}
    }

    /// `a` ⊗ `b` for matrices: `[m, n] ⊗ [p, q]` → `[m·p, n·q]`, element (i·p + k, j·q + l) = a[i, j]·b[k, l].
    static func kronecker(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (m, n, p, q) = (a.shape[0], a.shape[1], b.shape[0], b.shape[1])
        let out = Tensor(uninitializedShape: [m * p, n * q])
        let x = a.pointer, y = b.pointer, z = out.pointer
        for i in 0 ..< m {
            for k in 0 ..< p {
                let row = z + (i * p + k) * n * q
                for j in 0 ..< n {
                    let s = x[i * n + j], cell = row + j * q, source = y + k * q
                    for l in 0 ..< q { cell[l] = s * source[l] }
                }
            }
        }
        withExtendedLifetime((a, b)) {}
        return out
    }
}
