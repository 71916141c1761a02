import DiffuseAutograd
import DiffuseTensor
import Foundation
import Testing

/// Checks the analytic float32 gradients of a differentiable function against central finite
/// differences of a float64 reference implementation of the same function.
///
/// The objective is `Σₒ ⟨Rₒ, fₒ(inputs)⟩` with fixed random `Rₒ` (so every output element gets its
/// own upstream gradient): the analytic side runs `Autograd.backward(outputs, gradients: R)` once;
/// the numeric side perturbs every input element by ±h in float64. Also checks that the float32
/// forward agrees with the reference (which guards the reference itself).
///
/// The error is ‖analytic − numeric‖∞ / ‖numeric‖∞ per input. Measured errors are float32
/// round-off (≤ 4·10⁻⁷), so the default tolerance is 2·10⁻⁵, well inside the required 10⁻³ and
/// tight enough that a 0.1% slip in a derivative formula fails.
enum GradientCheck {
    /// - Parameters:
    ///   - inputs: float32 values (any strides); they become leaves.
    ///   - differentiable: which inputs get a gradient (default: all).
    ///   - f32: the function under test on variables.
    ///   - f64: the float64 reference on the inputs' row-major values; returns each output's row-major values.
    /// - Returns: the max relative error of each differentiable input's gradient.
    @discardableResult
    static func run(_ label: String, inputs: [Tensor], differentiable: [Bool]? = nil, seed: UInt64 = 1,
                    tolerance: Double = 2e-5, forwardTolerance: Double = 1e-5, step: Double = 1e-5,
                    f32: ([Variable]) -> [Variable], f64: ([[Double]]) -> [[Double]],
                    sourceLocation: SourceLocation = #_sourceLocation) -> [Double] {
        let wants = differentiable ?? Array(repeating: true, count: inputs.count)
        let leaves = zip(inputs, wants).map { Variable($0, requiresGrad: $1) }
        let outputs = f32(leaves)
        let x64 = inputs.map(doubles)
        let reference = f64(x64)
        #expect(outputs.count == reference.count, "\(label): \(outputs.count) outputs vs \(reference.count) in the reference",
                sourceLocation: sourceLocation)
        var forwardError = 0.0
        for (output, ref) in zip(outputs, reference) {
            #expect(output.count == ref.count, "\(label): output \(output.shape) vs \(ref.count) reference values", sourceLocation: sourceLocation)
            guard output.count == ref.count else { return [] }
            forwardError = max(forwardError, relativeL2(doubles(output.value), ref))
        }
        #expect(forwardError <= forwardTolerance, "\(label): forward relative error \(forwardError)", sourceLocation: sourceLocation)

        var rng = TestRandom(seed: seed &* 7919)
        let upstream = outputs.map { rng.tensor($0.shape) }
        Autograd.backward(outputs, gradients: upstream)
        let r64 = upstream.map(doubles)

        func objective(_ x: [[Double]]) -> Double {
            var total = 0.0
            for (values, r) in zip(f64(x), r64) { for i in 0 ..< r.count { total += values[i] * r[i] } }
            return total
        }

        var errors: [Double] = []
        var perturbed = x64
        for (index, leaf) in leaves.enumerated() where wants[index] {
            var numeric = [Double](repeating: 0, count: x64[index].count)
            for e in 0 ..< numeric.count {
                let original = x64[index][e]
                let h = step * max(1, abs(original))
                perturbed[index][e] = original + h
                let plus = objective(perturbed)
                perturbed[index][e] = original - h
                let minus = objective(perturbed)
                perturbed[index][e] = original
                numeric[e] = (plus - minus) / (2 * h)
            }
            let analytic = leaf.grad.map(doubles) ?? Array(repeating: 0, count: numeric.count)
            if let grad = leaf.grad {
                #expect(grad.shape == inputs[index].shape, "\(label): gradient \(index) has shape \(grad.shape)", sourceLocation: sourceLocation)
            }
            let error = maxRelativeError(analytic, numeric)
            errors.append(error)
            #expect(error <= tolerance, "\(label): input \(index) gradient max relative error \(error) > \(tolerance)",
                    sourceLocation: sourceLocation)
        }
        let list = errors.map { String(format: "%.2e", $0) }.joined(separator: ", ")
        print("[grad] \(label): max relative error per input [\(list)] (forward \(String(format: "%.1e", forwardError)))")
        return errors
    }

    /// One input, one output.
    @discardableResult
    static func unary(_ label: String, _ x: Tensor, seed: UInt64 = 1, tolerance: Double = 2e-5,
                      f32: (Variable) -> Variable, f64: ([Double]) -> [Double],
                      sourceLocation: SourceLocation = #_sourceLocation) -> Double {
        run(label, inputs: [x], seed: seed, tolerance: tolerance, f32: { [f32($0[0])] }, f64: { [f64($0[0])] },
            sourceLocation: sourceLocation).first ?? .infinity
    }
}
