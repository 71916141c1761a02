import Foundation
import DiffuseTensor

/// Mean-squared-error loss with optional per-sample weights (e.g. min-SNR weighting of diffusion losses).
extension Variable {
    /// `(1/N) Σₙ wₙ · mean((predictionₙ − targetₙ)²)` over the `N` samples of the first axis; a
    /// one-element variable. Without weights it is the plain mean of the squared error.
    ///
    /// - Parameters:
    ///   - prediction: `[N, …]`.
    ///   - target: same shape as `prediction`; usually a constant (it gets a gradient if it requires one).
    ///   - sampleWeights: `[N]` (any shape with `N` elements), or nil for weight 1.
    /// - Returns: shape `[]`.
    public static func meanSquaredError(_ prediction: Variable, _ target: Variable, sampleWeights: Tensor? = nil) -> Variable {
        require(prediction.shape == target.shape, "meanSquaredError: prediction \(prediction.shape) vs target \(target.shape)")
        require(prediction.rank >= 1 && prediction.shape[0] > 0, "meanSquaredError: prediction \(prediction.shape) needs a sample axis")
        let samples = prediction.shape[0]
        let weights: [Float] = sampleWeights.map { w in
            require(w.count == samples, "meanSquaredError: \(w.count) sample weights for \(samples) samples")
            return w.scalars
        } ?? Array(repeating: 1, count: samples)
        let p = prediction.value.contiguous(), t = target.value.contiguous()
        let perSample = SquaredError.sums(p, t, samples: samples)
        let elements = Double(p.count / samples)
        var loss = 0.0
        for n in 0 ..< samples { loss += Double(weights[n]) * perSample[n] / elements }
        loss /= Double(samples)
        return recordOperation("meanSquaredError", inputs: [prediction, target], output: Tensor(scalar: Float(loss))) { g, needs in
            let scale = 2 * g.item / Float(Double(samples) * elements)
            let dp = SquaredError.gradient(p, t, samples: samples, scales: weights.map { $0 * scale })
            return [needs[0] ? dp : nil, needs[1] ? -dp : nil]
        }
    }

    /// `meanSquaredError` against a constant target.
    public static func meanSquaredError(_ prediction: Variable, _ target: Tensor, sampleWeights: Tensor? = nil) -> Variable {
        meanSquaredError(prediction, Variable(target), sampleWeights: sampleWeights)
    }
}

/// Kernels of the squared-error loss over contiguous `[N, E]` data.
enum SquaredError {
    /// Σₑ (p − t)² for each sample.
    static func sums(_ p: Tensor, _ t: Tensor, samples: Int) -> [Double] {
        let e = p.count / samples
        var result = [Double](repeating: 0, count: samples)
        let pp = p.pointer, tp = t.pointer
        result.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            Parallel.forRange(samples, minPerThread: Swift.max(1, (1 << 15) / Swift.max(e, 1))) { range in
                for n in range {
                    let a = pp + n * e, b = tp + n * e
                    var acc0 = Vec8(), acc1 = Vec8()
                    var i = 0
                    while i + 16 <= e {
                        let d0 = VectorMath.load(a + i) - VectorMath.load(b + i)
                        let d1 = VectorMath.load(a + i + 8) - VectorMath.load(b + i + 8)
                        acc0.addProduct(d0, d0); acc1.addProduct(d1, d1)
                        i += 16
                    }
                    var total = Double((acc0 + acc1).sum())
                    while i < e { let d = a[i] - b[i]; total += Double(d * d); i += 1 }
                    o[n] = total
                }
            }
        }
        return result
    }

    /// `scales[n] · (p − t)` for each sample n.
    static func gradient(_ p: Tensor, _ t: Tensor, samples: Int, scales: [Float]) -> Tensor {
        let e = p.count / samples
        let out = Tensor(uninitializedShape: p.shape)
        let pp = p.pointer, tp = t.pointer, yp = out.pointer
        scales.withUnsafeBufferPointer { s in
            let sp = s.baseAddress!
            Parallel.forRange(samples * e, minPerThread: 1 << 15) { range in
                var i = range.lowerBound
                while i < range.upperBound {
                    let n = i / e
                    let end = Swift.min(range.upperBound, (n + 1) * e)
                    let scale = Vec8(repeating: sp[n])
                    while i + 8 <= end { VectorMath.store((VectorMath.load(pp + i) - VectorMath.load(tp + i)) * scale, yp + i); i += 8 }
                    while i < end { yp[i] = (pp[i] - tp[i]) * sp[n]; i += 1 }
                }
            }
        }
        return out
    }
}

/// Softmax cross-entropy for classifiers.
extension Variable {
    /// `−(1/N) Σₙ log softmax(logitsₙ)[labelₙ]`: the mean negative log-likelihood of the labels
    /// under the softmax of each row; a one-element variable. Computed with the row maximum
    /// subtracted, so large logits do not overflow.
    ///
    /// - Parameters:
    ///   - logits: `[N, C]` unnormalized class scores.
    ///   - labels: N class indices in `0 ..< C`.
    /// - Returns: shape `[]`.
    public static func crossEntropy(_ logits: Variable, labels: [Int]) -> Variable {
        require(logits.rank == 2, "crossEntropy: logits \(logits.shape) are not [N, C]")
        let (n, c) = (logits.shape[0], logits.shape[1])
        require(labels.count == n && n > 0, "crossEntropy: \(labels.count) labels for \(n) rows")
        require(labels.allSatisfy { (0 ..< c).contains($0) }, "crossEntropy: a label is outside 0..<\(c)")
        let x = logits.value.contiguous()
        let probabilities = Tensor(uninitializedShape: [n, c])
        var losses = [Double](repeating: 0, count: n)
        let xp = x.pointer
        losses.withUnsafeMutableBufferPointer { out in
            let pp = probabilities.pointer
            let o = out.baseAddress!
            Parallel.forRange(n, minPerThread: Swift.max(1, (1 << 14) / c)) { rows in
                for r in rows {
                    let row = xp + r * c, p = pp + r * c
                    var maximum = -Float.infinity
                    for j in 0 ..< c { maximum = Swift.max(maximum, row[j]) }
                    var total = 0.0
                    for j in 0 ..< c {
                        let e = Foundation.exp(Double(row[j] - maximum))
                        p[j] = Float(e)
                        total += e
                    }
                    let inverse = Float(1 / total)
                    for j in 0 ..< c { p[j] *= inverse }
                    o[r] = Foundation.log(total) + Double(maximum) - Double(row[labels[r]])
                }
            }
        }
        let loss = losses.reduce(0, +) / Double(n)
        return recordOperation("crossEntropy", inputs: [logits], output: Tensor(scalar: Float(loss))) { g, _ in
            // d/dlogits = (softmax − onehot) / N
            let scale = g.item / Float(n)
            let grad = Tensor(uninitializedShape: [n, c])
            let gp = grad.pointer, pp = probabilities.pointer  // the closure keeps `probabilities` alive
            for r in 0 ..< n {
                for j in 0 ..< c { gp[r * c + j] = pp[r * c + j] * scale }
                gp[r * c + labels[r]] -= scale
            }
            return [grad]
        }
    }
}
