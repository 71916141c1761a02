import DiffuseTensor

/// Views: new shapes and strides over the same values. They save nothing; their gradients are views
/// of the incoming gradient too (or, for `narrowed`, the gradient padded with zeros).
extension Variable {
    /// The same elements in a new shape; one dimension may be `-1` (inferred).
    public func reshaped(_ newShape: [Int]) -> Variable {
        let original = shape
        return Variable.recordOperation("reshaped", inputs: [self], output: value.reshaped(newShape)) { g, _ in
            [g.reshaped(original)]
        }
    }

    public func reshaped(_ dims: Int...) -> Variable { reshaped(dims) }

    /// Reorders the axes: result axis `i` is source axis `order[i]`.
    public func permuted(_ order: [Int]) -> Variable {
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        return Variable.recordOperation("permuted", inputs: [self], output: value.permuted(order)) { g, _ in
            [g.permuted(inverse)]
        }
    }

    public func permuted(_ order: Int...) -> Variable { permuted(order) }

    /// Swaps two axes (default: the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Variable {
        var order = Array(0 ..< rank)
        order.swapAt(value.normalize(a), value.normalize(b))
        return permuted(order)
    }

    /// Elements `start ..< start + length` along `axis`.
    public func narrowed(axis: Int, start: Int, length: Int) -> Variable {
        let a = value.normalize(axis), original = shape
        return Variable.recordOperation("narrowed", inputs: [self], output: value.narrowed(axis: a, start: start, length: length)) { g, _ in
            [ZeroPadding.along(axis: a, gradient: g, before: start, after: original[a] - start - length)]
        }
    }

    /// Index `index` along `axis`, dropping that axis.
    public func selecting(axis: Int, index: Int) -> Variable {
        let a = value.normalize(axis)
        return narrowed(axis: a, start: index, length: 1).squeezed(a)
    }

    /// Inserts a dimension of size 1 at `axis` (which may be `rank`).
    public func unsqueezed(_ axis: Int) -> Variable {
        let original = shape
        return Variable.recordOperation("unsqueezed", inputs: [self], output: value.unsqueezed(axis)) { g, _ in
            [g.reshaped(original)]
        }
    }

    /// Removes a dimension of size 1.
    public func squeezed(_ axis: Int) -> Variable {
        let original = shape
        return Variable.recordOperation("squeezed", inputs: [self], output: value.squeezed(axis)) { g, _ in
            [g.reshaped(original)]
        }
    }

    /// A broadcast view with `newShape` (size-1 axes repeat; new leading axes allowed). The
    /// gradient is summed over the repeated axes.
    public func expanded(_ newShape: [Int]) -> Variable {
        let original = shape
        return Variable.recordOperation("expanded", inputs: [self], output: value.expanded(newShape)) { g, _ in
            [BroadcastReduction.sum(g, toShape: original)]
        }
    }

    /// A contiguous copy (or the same values when already contiguous).
    public func contiguous() -> Variable {
        if value.isContiguous { return self }
        return Variable.recordOperation("contiguous", inputs: [self], output: value.contiguous()) { g, _ in [g] }
    }
}

/// Zero padding of a gradient along one axis (the adjoint of narrowing).
enum ZeroPadding {
    /// `gradient` with `before` zeros in front of it and `after` zeros behind it along `axis`.
    static func along(axis: Int, gradient: Tensor, before: Int, after: Int) -> Tensor {
        if before == 0 && after == 0 { return gradient }
        var pieces: [Tensor] = []
        func zeros(_ length: Int) -> Tensor {
            var shape = gradient.shape
            shape[axis] = length
            return Tensor(scalar: 0).expanded(shape)
        }
        if before > 0 { pieces.append(zeros(before)) }
        pieces.append(gradient)
        if after > 0 { pieces.append(zeros(after)) }
        return Tensor.concatenate(pieces, axis: axis)
    }
}
