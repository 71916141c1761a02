import CDiffuseKernels
import Foundation

/// Attention in one pass over the keys per tile of query rows (CDiffuseKernels' `dk_attention_rows`,
/// AVX-512 or AVX2 + FMA chosen at run time): scores, online softmax and the product with the values
/// stay in registers and L1, instead of two BLAS products per block around a separate softmax pass
/// whose score blocks BLAS re-packs each time.
///
/// Each head's keys are first packed once into panels of 2 vectors of keys (kᵀ, so a vector of
/// scores is one fused multiply-add per dimension) and its values into rows padded to whole vectors.
enum FusedAttentionKernel {
    /// Writes softmax(q·kᵀ·scale + mask)·v into `out` (`[B, N, H, Dv]`, contiguous) and, when given,
    /// each row's log-sum-exp into `logSumExp` (`[B, H, N]`).
    ///
    /// - Parameters: `query` `[B, H, N, D]`, `key` `[B, H, M, D]`, `value` `[B, H, M, Dv]`, each with a
    ///   contiguous last axis; `mask` already expanded to `[B, H, N, M]` (any strides);
    ///   `rowsPerTask` query rows per parallel task; `width` 8 or 16 floats per vector (16 only where
    ///   `AttentionKernel.available` lists it).
    static func run(width: Int, query q: Tensor, key k: Tensor, value v: Tensor, scale: Float, causal: Bool, mask: Tensor?,
                    out: Tensor, logSumExp: Tensor?, rowsPerTask: Int) {
        precondition(AttentionKernel.available.contains(.fused(width: width)), "attention: no \(width)-float kernel on this CPU")
        let w = Int32(width)
        let (b, h, n, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let m = k.shape[2], dv = v.shape[3]
        let keyFloats = Int(dk_attention_packed_keys_floats(w, Int64(m), Int64(d)))
        let valueFloats = Int(dk_attention_packed_values_floats(w, Int64(m), Int64(dv)))
        let perHead = keyFloats + valueFloats
        let packed = Tensor(uninitializedShape: [b * h * perHead])
        let pp = packed.pointer
        Parallel.forEach(b * h) { bh in
            let batch = bh / h, head = bh % h
            dk_attention_pack_keys(w, k.pointer + batch * k.strides[0] + head * k.strides[1], Int64(k.strides[2]),
                                   Int64(m), Int64(d), pp + bh * perHead)
            dk_attention_pack_values(w, v.pointer + batch * v.strides[0] + head * v.strides[1], Int64(v.strides[2]),
                                     Int64(m), Int64(dv), pp + bh * perHead + keyFloats)
        }
        let blocks = (n + rowsPerTask - 1) / rowsPerTask
        let scratchFloats = Int(dk_attention_scratch_floats(w, Int64(rowsPerTask), Int64(d), Int64(dv)))
        let op = out.pointer, lse = logSumExp?.pointer
        Parallel.forRange(b * h * blocks) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
            defer { scratch.deallocate() }
            for task in range {
                let block = task % blocks, bh = task / blocks
                let batch = bh / h, head = bh % h
                let i0 = block * rowsPerTask, rows = Swift.min(rowsPerTask, n - i0)
                var problem = dk_attention_head(
                    m: Int64(m), d: Int64(d), dv: Int64(dv), scale: scale, causal: causal ? 1 : 0,
                    mask: nil, mask_row: 0, mask_col: 0,
                    packed_keys: pp + bh * perHead, packed_values: pp + bh * perHead + keyFloats)
                if let mask {
                    problem.mask = UnsafePointer(mask.pointer + batch * mask.strides[0] + head * mask.strides[1])
                    problem.mask_row = Int64(mask.strides[2])
                    problem.mask_col = Int64(mask.strides[3])
                }
                dk_attention_rows(w, &problem, q.pointer + batch * q.strides[0] + head * q.strides[1] + i0 * q.strides[2],
                                  Int64(q.strides[2]), Int64(i0), Int64(rows),
                                  op + ((batch * n + i0) * h + head) * dv, Int64(h * dv),
                                  lse.map { $0 + (batch * h + head) * n + i0 }, scratch)
            }
        }
        // The packed keys and values are reached only through `pp`: keep their storage alive until here.
        withExtendedLifetime(packed) {}
    }
}
