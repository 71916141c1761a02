import Foundation

/// Eigenvalues of a real symmetric matrix by the cyclic Jacobi method (double precision; fine for
/// the few-hundred-wide covariance matrices of `FrechetDistance`).
enum SymmetricEigen {
    /// The n eigenvalues (unordered) of the symmetric n × n row-major `matrix`.
    static func eigenvalues(_ matrix: [Double], n: Int) -> [Double] { decompose(matrix, n: n).values }

    /// Eigen-decomposition A = V diag(λ) Vᵀ; V's columns are the eigenvectors (row-major n × n).
    static func decompose(_ matrix: [Double], n: Int, sweeps: Int = 60) -> (values: [Double], vectors: [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0 ..< n { v[i * n + i] = 1 }
        for _ in 0 ..< sweeps {
            var off = 0.0
            for p in 0 ..< n { for q in (p + 1) ..< n { off += a[p * n + q] * a[p * n + q] } }
            if off < 1e-22 { break }
            for p in 0 ..< n {
                for q in (p + 1) ..< n {
                    let apq = a[p * n + q]
                    if Swift.abs(apq) < 1e-300 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (Swift.abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0 ..< n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                    for k in 0 ..< n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                }
            }
        }
        return ((0 ..< n).map { a[$0 * n + $0] }, v)
    }
}
