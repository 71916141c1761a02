import DiffuseTensor

/// The tiny autoencoder's ReLUs written into a convolution's fresh output instead of a new
/// tensor: at 512² a decoder stage's activations are 64 × 512² floats (67 MB, more than the buffer
/// pool keeps), so each separate ReLU or sum paid for a fresh allocation and one more pass over memory.
enum TinyReLUInPlace {
    /// `max(x, 0)` in place when `x` is contiguous (a convolution's output, referenced only by the caller); else a new tensor.
    static func relu(_ x: Tensor) -> Tensor {
        guard x.isContiguous else { return x.relu() }
        let p = x.pointer
        let zero = Vec8(repeating: 0)
        Parallel.forRange(x.count, minPerThread: 1 << 15) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound { VectorMath.store(VectorMath.max(VectorMath.load(p + i), zero), p + i); i += 8 }
            while i < r.upperBound { p[i] = Swift.max(p[i], 0); i += 1 }
        }
        return x
    }

    /// `max(h + skip, 0)` written into `h` when both are contiguous and of one shape (`h` a
    /// convolution's output, referenced only by the caller); else new tensors.
    static func addReLU(_ h: Tensor, _ skip: Tensor) -> Tensor {
        guard h.isContiguous, skip.isContiguous, h.shape == skip.shape else { return (h + skip).relu() }
        let p = h.pointer, s = skip.pointer
        let zero = Vec8(repeating: 0)
        Parallel.forRange(h.count, minPerThread: 1 << 15) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                VectorMath.store(VectorMath.max(VectorMath.load(p + i) + VectorMath.load(s + i), zero), p + i)
                i += 8
            }
            while i < r.upperBound { p[i] = Swift.max(p[i] + s[i], 0); i += 1 }
        }
        return h
    }
}
