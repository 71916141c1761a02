import DiffuseTensor

/// Activations and other elementwise functions. Each saves one tensor for its backward pass: the
/// input (SiLU, GELU, quick GELU, ReLU, erf, square, GEGLU) or the output (sigmoid, exp, tanh, √).
extension Variable {
    private func unary<K: DerivativeKernel>(_ name: String, _ output: Tensor, savingOutput: Bool, _ kernel: K.Type) -> Variable {
        let saved = savingOutput ? output : value
        return Variable.recordOperation(name, inputs: [self], output: output) { g, _ in
            [DerivativeLoops.apply(K.self, saved: saved, gradient: g)]
        }
    }

    /// x · σ(x).
    public func silu() -> Variable { unary("silu", value.silu(), savingOutput: false, SiLUDerivative.self) }
    /// 1 / (1 + e⁻ˣ).
    public func sigmoid() -> Variable { unary("sigmoid", value.sigmoid(), savingOutput: true, SigmoidDerivative.self) }
    /// GELU; `approximate: true` is the tanh form (PyTorch's `approximate="tanh"`).
    public func gelu(approximate: Bool = false) -> Variable {
        approximate ? unary("gelu(tanh)", value.gelu(approximate: true), savingOutput: false, GELUTanhDerivative.self)
                    : unary("gelu", value.gelu(), savingOutput: false, GELUDerivative.self)
    }
    /// CLIP's quick GELU, x · σ(1.702x).
    public func quickGELU() -> Variable { unary("quickGELU", value.quickGELU(), savingOutput: false, QuickGELUDerivative.self) }
    /// max(x, 0) (gradient 0 at x = 0).
    public func relu() -> Variable { unary("relu", value.relu(), savingOutput: false, ReLUDerivative.self) }
    public func exp() -> Variable { unary("exp", value.exp(), savingOutput: true, ExpDerivative.self) }
    public func tanh() -> Variable { unary("tanh", value.tanh(), savingOutput: true, TanhDerivative.self) }
    public func erf() -> Variable { unary("erf", value.erf(), savingOutput: false, ErfDerivative.self) }
    public func squared() -> Variable { unary("squared", value.squared(), savingOutput: false, SquareDerivative.self) }
    public func squareRoot() -> Variable { unary("squareRoot", value.squareRoot(), savingOutput: true, SquareRootDerivative.self) }

    /// Limits every element to `lower ... upper`; the gradient passes where the input is inside the
    /// bounds (inclusive) and is 0 where it was clipped. Saves the input.
    public func clamped(_ lower: Float, _ upper: Float) -> Variable {
        let x = value
        return Variable.recordOperation("clamped", inputs: [self], output: value.clamped(lower, upper)) { g, _ in
            [DerivativeLoops.insideBounds(saved: x, gradient: g, lower: lower, upper: upper)]
        }
    }

    /// GEGLU: splits the last axis into halves `(h, g)` and returns `h · GELU(g)` (diffusers' `GEGLU`),
    /// `[…, 2d] → […, d]`. Saves only the input.
    public func geglu() -> Variable {
        require(shape[rank - 1] % 2 == 0, "geglu: last axis of \(shape) is odd")
        let x = value
        return Variable.recordOperation("geglu", inputs: [self], output: x.geglu()) { g, _ in
            [GEGLUBackward.inputGradient(input: x, gradient: g)]
        }
    }
}
