/// Joining tensors along an axis (splitting is a view: `split`, `chunked`).
extension Tensor {
    /// Concatenates `tensors` along `axis`; all other sizes must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        OpProfile.measure("concatenate") {
            precondition(!tensors.isEmpty, "concatenate: no tensors")
            let first = tensors[0]
            let a = first.normalize(axis)
            for t in tensors {
                precondition(t.rank == first.rank && (0 ..< first.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                             "concatenate: \(t.shape) does not match \(first.shape) outside axis \(a)")
            }
            var outShape = first.shape
            outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
            let out = Tensor(uninitializedShape: outShape)
            let outer = first.shape[..<a].reduce(1, *)
            let inner = first.shape[(a + 1)...].reduce(1, *)
            let outRow = outShape[a] * inner
            var start = 0
            for t in tensors {
                let piece = t.shape[a] * inner
                let view = Tensor(storage: out.storage, shape: t.shape, strides: out.strides, offset: start)
                if t.isContiguous {
                    let src = t.pointer, dst = out.pointer + start
                    Parallel.forRange(outer, minPerThread: Swift.max(1, 4096 / Swift.max(piece, 1))) { r in
                        for i in r { (dst + i * outRow).update(from: src + i * piece, count: piece) }
                    }
                } else {
                    StridedCopy.copy(from: t, intoView: view)
                }
                start += piece
            }
            return out
        }
    }
}

extension StridedCopy {
    /// Copies `source` into the (same-shaped) strided view `destination`.
    static func copy(from source: Tensor, intoView destination: Tensor) {
        precondition(source.shape == destination.shape, "copy: \(source.shape) into \(destination.shape)")
        let nest = LoopNest(shape: source.shape, strides: [destination.strides, source.strides])
        let src = source.pointer, dst = destination.pointer
        let sd = nest.innerStride(0), ss = nest.innerStride(1)
        nest.run { offsets, n in
            let d = dst + offsets[0], p = src + offsets[1]
            if sd == 1 && ss == 1 { d.update(from: p, count: n) } else { for i in 0 ..< n { d[i * sd] = p[i * ss] } }
        }
    }
}
