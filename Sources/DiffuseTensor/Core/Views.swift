/// Views: new shapes and strides over the same storage, without copying.
extension Tensor {
    /// The same elements in a new shape; one dimension may be `-1` (inferred). Copies only when the
    /// tensor is not contiguous.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var dims = newShape
        if let inferred = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "reshaped: cannot infer \(newShape) from \(shape)")
            dims[inferred] = count / known
        }
        precondition(Tensor.elementCount(dims) == count, "reshaped: \(shape) (\(count) elements) cannot become \(newShape)")
        let source = isContiguous ? self : contiguous()
        return Tensor(storage: source.storage, shape: dims, strides: Tensor.contiguousStrides(dims), offset: source.offset)
    }

    public func reshaped(_ dims: Int...) -> Tensor { reshaped(dims) }

    /// Reorders the axes: result axis `i` is source axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0 ..< rank), "permuted: \(order) is not a permutation of rank \(rank)")
        return Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset)
    }

    public func permuted(_ order: Int...) -> Tensor { permuted(order) }

    /// Swaps two axes (default: the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0 ..< rank)
        order.swapAt(normalize(a), normalize(b))
        return permuted(order)
    }

    /// Elements `start ..< start + length` along `axis`.
    public func narrowed(axis: Int, start: Int, length: Int) -> Tensor {
        let a = normalize(axis)
        precondition(start >= 0 && length >= 0 && start + length <= shape[a],
                     "narrowed: \(start)..<\(start + length) is outside axis \(a) of size \(shape[a])")
        var dims = shape
        dims[a] = length
        return Tensor(storage: storage, shape: dims, strides: strides, offset: offset + start * strides[a])
    }

    /// Index `index` along `axis`, dropping that axis.
    public func selecting(axis: Int, index: Int) -> Tensor {
        let a = normalize(axis)
        let view = narrowed(axis: a, start: index, length: 1)
        var dims = view.shape, st = view.strides
        dims.remove(at: a); st.remove(at: a)
        return Tensor(storage: storage, shape: dims, strides: st, offset: view.offset)
    }

    /// Inserts a dimension of size 1 at `axis` (which may be `rank`).
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        precondition(a >= 0 && a <= rank, "unsqueezed: axis \(axis) out of range for rank \(rank)")
        var dims = shape, st = strides
        dims.insert(1, at: a)
        st.insert(a < rank ? strides[a] * shape[a] : 1, at: a)
        return Tensor(storage: storage, shape: dims, strides: st, offset: offset)
    }

    /// Removes a dimension of size 1.
    public func squeezed(_ axis: Int) -> Tensor {
        let a = normalize(axis)
        precondition(shape[a] == 1, "squeezed: axis \(a) has size \(shape[a]), not 1")
        var dims = shape, st = strides
        dims.remove(at: a); st.remove(at: a)
        return Tensor(storage: storage, shape: dims, strides: st, offset: offset)
    }

    /// A broadcast view with `newShape` (size-1 axes repeat with stride 0; new leading axes allowed).
    public func expanded(_ newShape: [Int]) -> Tensor {
        precondition(newShape.count >= rank, "expanded: cannot expand \(shape) to lower rank \(newShape)")
        let lead = newShape.count - rank
        var st = [Int](repeating: 0, count: newShape.count)
        for i in 0 ..< rank {
            if shape[i] == newShape[lead + i] { st[lead + i] = strides[i] }
            else { precondition(shape[i] == 1, "expanded: \(shape) does not broadcast to \(newShape)"); st[lead + i] = 0 }
        }
        return Tensor(storage: storage, shape: newShape, strides: st, offset: offset)
    }

    /// Splits `axis` into `chunks` equal views (the size must divide evenly).
    public func chunked(_ chunks: Int, axis: Int) -> [Tensor] {
        let a = normalize(axis)
        precondition(chunks > 0 && shape[a] % chunks == 0, "chunked: axis \(a) of size \(shape[a]) does not split into \(chunks)")
        let size = shape[a] / chunks
        return (0 ..< chunks).map { narrowed(axis: a, start: $0 * size, length: size) }
    }

    /// Splits `axis` into views of the given sizes (which must add up to the axis size).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = normalize(axis)
        precondition(sizes.reduce(0, +) == shape[a], "split: sizes \(sizes) do not add up to axis \(a) of size \(shape[a])")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return narrowed(axis: a, start: start, length: size)
        }
    }

    /// A contiguous copy (or `self` when already contiguous).
    public func contiguous() -> Tensor {
        OpProfile.measure("copy") {
            if isContiguous { return self }
            let out = Tensor(uninitializedShape: shape)
            StridedCopy.copy(from: self, into: out.pointer)
            return out
        }
    }
}
