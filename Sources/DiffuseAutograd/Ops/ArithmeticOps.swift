import DiffuseTensor

/// Elementwise arithmetic with NumPy/PyTorch broadcasting, and arithmetic with scalars.
///
/// The gradient of a broadcast operand is summed over the axes it was repeated along.
extension Variable {
    public static func + (a: Variable, b: Variable) -> Variable {
        let sa = a.shape, sb = b.shape
        return recordOperation("add", inputs: [a, b], output: a.value + b.value) { g, needs in
            [needs[0] ? BroadcastReduction.sum(g, toShape: sa) : nil,
             needs[1] ? BroadcastReduction.sum(g, toShape: sb) : nil]
        }
    }

    public static func - (a: Variable, b: Variable) -> Variable {
        let sa = a.shape, sb = b.shape
        return recordOperation("subtract", inputs: [a, b], output: a.value - b.value) { g, needs in
            [needs[0] ? BroadcastReduction.sum(g, toShape: sa) : nil,
             needs[1] ? -BroadcastReduction.sum(g, toShape: sb) : nil]
        }
    }

    public static func * (a: Variable, b: Variable) -> Variable {
        // Each factor is saved only when the other one needs its gradient.
        let x = b.requiresGrad ? a.value : nil, y = a.requiresGrad ? b.value : nil
        let sa = a.shape, sb = b.shape
        return recordOperation("multiply", inputs: [a, b], output: a.value * b.value) { g, needs in
            [needs[0] ? BroadcastReduction.sum(g * y!, toShape: sa) : nil,
             needs[1] ? BroadcastReduction.sum(g * x!, toShape: sb) : nil]
        }
    }

    public static func / (a: Variable, b: Variable) -> Variable {
        let y = b.value
        let quotient = a.value / y
        let savedQuotient = b.requiresGrad ? quotient : nil
        let sa = a.shape
        return recordOperation("divide", inputs: [a, b], output: quotient) { g, needs in
            // d(a/b)/da = 1/b; d(a/b)/db = −(a/b)/b.
            let gOverB = g / y
            return [needs[0] ? BroadcastReduction.sum(gOverB, toShape: sa) : nil,
                    needs[1] ? -BroadcastReduction.sum(gOverB * savedQuotient!, toShape: y.shape) : nil]
        }
    }

    public static prefix func - (a: Variable) -> Variable {
        recordOperation("negate", inputs: [a], output: -a.value) { g, _ in [-g] }
    }

    /// `self · scale + shift`, elementwise.
    public func affine(scale: Float, shift: Float) -> Variable {
        Variable.recordOperation("affine", inputs: [self], output: value.affine(scale: scale, shift: shift)) { g, _ in
            [scale == 1 ? g : g * scale]
        }
    }

    public static func + (a: Variable, b: Float) -> Variable { a.affine(scale: 1, shift: b) }
    public static func - (a: Variable, b: Float) -> Variable { a.affine(scale: 1, shift: -b) }
    public static func * (a: Variable, b: Float) -> Variable { a.affine(scale: b, shift: 0) }
    public static func / (a: Variable, b: Float) -> Variable { a.affine(scale: 1 / b, shift: 0) }
    public static func + (a: Float, b: Variable) -> Variable { b.affine(scale: 1, shift: a) }
    public static func - (a: Float, b: Variable) -> Variable { b.affine(scale: -1, shift: a) }
    public static func * (a: Float, b: Variable) -> Variable { b.affine(scale: a, shift: 0) }
}
