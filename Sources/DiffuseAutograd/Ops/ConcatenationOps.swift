import DiffuseTensor

/// Joining and splitting along an axis. Splits are views; the gradient of a concatenation is views
/// of the incoming gradient, and the gradient of a split is one concatenation of its pieces' gradients.
extension Variable {
    /// Concatenates `variables` along `axis`; all other sizes must agree.
    public static func concatenate(_ variables: [Variable], axis: Int) -> Variable {
        require(!variables.isEmpty, "concatenate: no variables")
        let a = variables[0].value.normalize(axis)
        let lengths = variables.map { $0.shape[a] }
        return recordOperation("concatenate", inputs: variables, output: Tensor.concatenate(variables.map(\.value), axis: a)) { g, needs in
            var start = 0
            return lengths.enumerated().map { index, length in
                defer { start += length }
                return needs[index] ? g.narrowed(axis: a, start: start, length: length) : nil
            }
        }
    }

    /// Splits `axis` into views of the given sizes (which must add up to the axis size).
    public func split(sizes: [Int], axis: Int) -> [Variable] {
        let a = value.normalize(axis)
        let pieces = value.split(sizes: sizes, axis: a)
        let shapes = pieces.map(\.shape)
        return Variable.recordOperation("split", inputs: [self], outputs: pieces) { gradients in
            // Pieces that received no gradient contribute zeros (a broadcast view, not a buffer).
            let filled = zip(gradients, shapes).map { g, shape in g ?? Tensor(scalar: 0).expanded(shape) }
            return [filled.count == 1 ? filled[0] : Tensor.concatenate(filled.filter { $0.shape[a] > 0 }, axis: a)]
        }
    }

    /// Splits `axis` into `chunks` equal views (the size must divide evenly).
    public func chunked(_ chunks: Int, axis: Int) -> [Variable] {
        let a = value.normalize(axis)
        require(chunks > 0 && shape[a] % chunks == 0, "chunked: axis \(a) of size \(shape[a]) does not split into \(chunks)")
        return split(sizes: Array(repeating: shape[a] / chunks, count: chunks), axis: a)
    }
}
