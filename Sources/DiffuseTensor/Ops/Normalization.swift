import Foundation

/// Group normalization and layer normalization (float32 statistics, two-pass variance).
extension Tensor {
    /// GroupNorm over `[N, C, …]`: each of `groups` channel groups is normalized over its channels and
    /// spatial positions, then scaled by `weight[C]` and shifted by `bias[C]`. `silu: true` fuses the
    /// SiLU that follows most GroupNorms in UNets and VAEs.
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5, silu: Bool = false) -> Tensor {
        OpProfile.measure("groupNorm") {
            precondition(rank >= 2, "groupNorm: input \(shape) needs at least [N, C]")
            let n = shape[0], c = shape[1]
            precondition(groups > 0 && c % groups == 0, "groupNorm: \(c) channels do not split into \(groups) groups")
            let spatial = count / Swift.max(n * c, 1)
            let perGroup = c / groups
            let runLength = perGroup * spatial
            let x = contiguous()
            let w = weight?.contiguous(), b = bias?.contiguous()
            if let w { precondition(w.count == c, "groupNorm: weight has \(w.count) elements for \(c) channels") }
            if let b { precondition(b.count == c, "groupNorm: bias has \(b.count) elements for \(c) channels") }
            let out = Tensor(uninitializedShape: shape)
            let xp = x.pointer, yp = out.pointer, wp = w?.pointer, bp = b?.pointer
            Parallel.forRange(n * groups, minPerThread: Swift.max(1, (1 << 14) / Swift.max(runLength, 1))) { range in
                for item in range {
                    let src = xp + item * runLength, dst = yp + item * runLength
                    let mean = ReductionKernels.sum(src, runLength) / Float(runLength)
                    let variance = ReductionKernels.sumOfSquaredDeviations(src, runLength, mean: mean) / Float(runLength)
                    let rstd = 1 / (variance + epsilon).squareRoot()
                    let group = item % groups
                    for k in 0 ..< perGroup {
                        let channel = group * perGroup + k
                        let scale = rstd * (wp?[channel] ?? 1)
                        let shift = (bp?[channel] ?? 0) - mean * scale
                        RowKernels.scaleShift(src + k * spatial, dst + k * spatial, spatial, scale: scale, shift: shift, silu: silu)
                    }
                }
            }
            return out
        }
    }

    /// LayerNorm over the last axis, with `weight` and `bias` of that axis's size.
    public func layerNorm(weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5) -> Tensor {
        OpProfile.measure("layerNorm") {
            let d = shape[rank - 1]
            let rows = count / Swift.max(d, 1)
            let x = contiguous()
            let w = weight?.contiguous(), b = bias?.contiguous()
            if let w { precondition(w.count == d, "layerNorm: weight has \(w.count) elements for a last axis of \(d)") }
            if let b { precondition(b.count == d, "layerNorm: bias has \(b.count) elements for a last axis of \(d)") }
            let out = Tensor(uninitializedShape: shape)
            let xp = x.pointer, yp = out.pointer, wp = w.map { UnsafePointer($0.pointer) }, bp = b.map { UnsafePointer($0.pointer) }
            Parallel.forRange(rows, minPerThread: Swift.max(1, (1 << 14) / Swift.max(d, 1))) { range in
                for row in range {
                    let src = xp + row * d
                    let mean = ReductionKernels.sum(src, d) / Float(d)
                    let variance = ReductionKernels.sumOfSquaredDeviations(src, d, mean: mean) / Float(d)
                    RowKernels.normalizeAffine(src, yp + row * d, d, mean: mean, rstd: 1 / (variance + epsilon).squareRoot(),
                                               weight: wp, bias: bp)
                }
            }
            withExtendedLifetime((w, b)) {}
            return out
        }
    }

    /// Softmax along `axis` (default: the last).
    public func softmax(axis: Int = -1) -> Tensor {
        OpProfile.measure("softmax") {
            let a = normalize(axis)
            if a != rank - 1 {
                return transposed(a, rank - 1).softmax(axis: -1).transposed(a, rank - 1).contiguous()
            }
            let d = shape[rank - 1]
            let rows = count / Swift.max(d, 1)
            let out = copied()
            let yp = out.pointer
            Parallel.forRange(rows, minPerThread: Swift.max(1, (1 << 14) / Swift.max(d, 1))) { range in
                for row in range {
                    let r = yp + row * d
                    let total = RowKernels.expShifted(r, d, max: ReductionKernels.max(r, d))
                    RowKernels.scale(r, d, by: 1 / total)
                }
            }
            return out
        }
    }

    /// A contiguous copy that never shares storage with `self`.
    public func copied() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        StridedCopy.copy(from: self, into: out.pointer)
        return out
    }
}
