import Foundation

/// The Fréchet distance between two sets of feature vectors, each summarized by a Gaussian
/// (mean μ, covariance Σ): ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½) — the formula of FID, here on
/// whatever features the caller gives. Tr((Σ₁Σ₂)^½) is computed as Σ √λᵢ of Σ₁^½ Σ₂ Σ₁^½.
public enum FrechetDistance {
    /// - Parameters: `a`, `b`: feature vectors of equal width d (at least 2 of each).
    public static func between(_ a: [[Double]], _ b: [[Double]]) -> Double {
        let d = a[0].count
        let (mu1, s1) = statistics(a), (mu2, s2) = statistics(b)
        var meanTerm = 0.0
        for i in 0 ..< d { meanTerm += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) }
        // Σ₁^½ via its eigen-decomposition (negative round-off eigenvalues clamp to 0).
        let (values, vectors) = SymmetricEigen.decompose(s1, n: d)
        var root = [Double](repeating: 0, count: d * d)
        for i in 0 ..< d {
            for j in 0 ..< d {
                var sum = 0.0
                for k in 0 ..< d { sum += vectors[i * d + k] * Swift.max(values[k], 0).squareRoot() * vectors[j * d + k] }
                root[i * d + j] = sum
            }
        }
        let inner = multiply(multiply(root, s2, d), root, d)
        let traceRoot = SymmetricEigen.eigenvalues(inner, n: d).reduce(0) { $0 + Swift.max($1, 0).squareRoot() }
        var trace = 0.0
        for i in 0 ..< d { trace += s1[i * d + i] + s2[i * d + i] }
        return meanTerm + trace - 2 * traceRoot
    }

    /// Mean and (unbiased) covariance, row-major d × d.
    static func statistics(_ x: [[Double]]) -> ([Double], [Double]) {
        let n = Double(x.count), d = x[0].count
        var mean = [Double](repeating: 0, count: d)
        for row in x { for i in 0 ..< d { mean[i] += row[i] / n } }
        var cov = [Double](repeating: 0, count: d * d)
        for row in x {
            for i in 0 ..< d {
                let di = row[i] - mean[i]
                for j in i ..< d { cov[i * d + j] += di * (row[j] - mean[j]) }
            }
        }
        for i in 0 ..< d { for j in i ..< d { cov[i * d + j] /= Swift.max(n - 1, 1); cov[j * d + i] = cov[i * d + j] } }
        return (mean, cov)
    }

    static func multiply(_ a: [Double], _ b: [Double], _ d: Int) -> [Double] {
        var c = [Double](repeating: 0, count: d * d)
        for i in 0 ..< d { for k in 0 ..< d { let aik = a[i * d + k]; if aik == 0 { continue }; for j in 0 ..< d { c[i * d + j] += aik * b[k * d + j] } } }
        return c
    }
}
