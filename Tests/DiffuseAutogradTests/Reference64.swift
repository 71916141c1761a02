import Foundation

/// Naive float64 forward implementations of the operations, on row-major arrays.
enum Ref64 {
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) { s[axis] = running; running *= shape[axis] }
        return s
    }

    /// Builds `shape` by reading `source` at `index(multiIndex)` (nil: `fill`).
    static func gather(_ source: [Double], shape: [Int], fill: Double = 0, _ index: ([Int]) -> Int?) -> [Double] {
        let count = shape.reduce(1, *)
        var out = [Double](repeating: 0, count: count)
        var idx = [Int](repeating: 0, count: shape.count)
        for flat in 0 ..< count {
            var rest = flat
            for axis in stride(from: shape.count - 1, through: 0, by: -1) { idx[axis] = rest % shape[axis]; rest /= shape[axis] }
            out[flat] = index(idx).map { source[$0] } ?? fill
        }
        return out
    }

    static func flatIndex(_ idx: [Int], _ shape: [Int]) -> Int {
        var flat = 0
        for axis in 0 ..< shape.count { flat = flat * shape[axis] + idx[axis] }
        return flat
    }

    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        return (0 ..< rank).map { i in
            let x = i - (rank - a.count) >= 0 ? a[i - (rank - a.count)] : 1
            let y = i - (rank - b.count) >= 0 ? b[i - (rank - b.count)] : 1
            return x == 1 ? y : x
        }
    }

    /// `source` (of `shape`) broadcast to `target`.
    static func expand(_ source: [Double], _ shape: [Int], to target: [Int]) -> [Double] {
        let lead = target.count - shape.count
        return gather(source, shape: target) { idx in
            flatIndex((0 ..< shape.count).map { shape[$0] == 1 ? 0 : idx[lead + $0] }, shape)
        }
    }

    static func binary(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ op: (Double, Double) -> Double) -> [Double] {
        let shape = broadcastShape(sa, sb)
        let ea = expand(a, sa, to: shape), eb = expand(b, sb, to: shape)
        return zip(ea, eb).map(op)
    }

    static func permute(_ x: [Double], _ shape: [Int], _ order: [Int]) -> [Double] {
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        return gather(x, shape: order.map { shape[$0] }) { idx in flatIndex((0 ..< shape.count).map { idx[inverse[$0]] }, shape) }
    }

    static func narrow(_ x: [Double], _ shape: [Int], axis: Int, start: Int, length: Int) -> [Double] {
        var out = shape
        out[axis] = length
        return gather(x, shape: out) { idx in
            var i = idx
            i[axis] += start
            return flatIndex(i, shape)
        }
    }

    static func concatenate(_ parts: [([Double], [Int])], axis: Int) -> [Double] {
        var shape = parts[0].1
        shape[axis] = parts.reduce(0) { $0 + $1.1[axis] }
        var starts: [Int] = [], s = 0
        for p in parts { starts.append(s); s += p.1[axis] }
        let count = shape.reduce(1, *)
        var out = [Double](repeating: 0, count: count)
        var idx = [Int](repeating: 0, count: shape.count)
        for flat in 0 ..< count {
            var rest = flat
            for a in stride(from: shape.count - 1, through: 0, by: -1) { idx[a] = rest % shape[a]; rest /= shape[a] }
            let part = starts.lastIndex(where: { $0 <= idx[axis] })!
            var local = idx
            local[axis] -= starts[part]
            out[flat] = parts[part].0[flatIndex(local, parts[part].1)]
        }
        return out
    }

    /// Sum over `axes` (the kept axes stay in order).
    static func sum(_ x: [Double], _ shape: [Int], axes: Set<Int>) -> [Double] {
        let kept = (0 ..< shape.count).filter { !axes.contains($0) }
        let outShape = kept.map { shape[$0] }
        var out = [Double](repeating: 0, count: outShape.reduce(1, *))
        var idx = [Int](repeating: 0, count: shape.count)
        for flat in 0 ..< x.count {
            var rest = flat
            for a in stride(from: shape.count - 1, through: 0, by: -1) { idx[a] = rest % shape[a]; rest /= shape[a] }
            out[flatIndex(kept.map { idx[$0] }, outShape)] += x[flat]
        }
        return out
    }

    /// Batched matmul with broadcasting batch axes: a `[…, m, k]`, b `[…, k, n]` (rank ≥ 2).
    static func matmul(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int]) -> ([Double], [Int]) {
        let m = sa[sa.count - 2], k = sa[sa.count - 1], n = sb[sb.count - 1]
        let batchShape = broadcastShape(Array(sa.dropLast(2)), Array(sb.dropLast(2)))
        let ea = expand(a, sa, to: batchShape + [m, k]), eb = expand(b, sb, to: batchShape + [k, n])
        let batch = batchShape.reduce(1, *)
        var c = [Double](repeating: 0, count: batch * m * n)
        for t in 0 ..< batch { for i in 0 ..< m { for p in 0 ..< k {
            let av = ea[t * m * k + i * k + p]
            for j in 0 ..< n { c[t * m * n + i * n + j] += av * eb[t * k * n + p * n + j] }
        } } }
        return (c, batchShape + [m, n])
    }

    static func conv2d(_ x: [Double], _ shape: [Int], _ w: [Double], _ wshape: [Int], bias: [Double]?, stride: (Int, Int),
                       pad: (Int, Int, Int, Int), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> [Double] {
        let (n, cin, h, wd) = (shape[0], shape[1], shape[2], shape[3])
        let (cout, cpg, kh, kw) = (wshape[0], wshape[1], wshape[2], wshape[3])
        let oh = (h + pad.0 + pad.1 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (wd + pad.2 + pad.3 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        var y = [Double](repeating: 0, count: n * cout * oh * ow)
        let coutPerGroup = cout / groups
        for b in 0 ..< n { for co in 0 ..< cout {
            let g = co / coutPerGroup
            for oy in 0 ..< oh { for ox in 0 ..< ow {
                var s = bias?[co] ?? 0
                for ci in 0 ..< cpg { for ky in 0 ..< kh { for kx in 0 ..< kw {
                    let iy = oy * stride.0 - pad.0 + ky * dilation.0, ix = ox * stride.1 - pad.2 + kx * dilation.1
                    if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
                    s += x[((b * cin + g * cpg + ci) * h + iy) * wd + ix] * w[((co * cpg + ci) * kh + ky) * kw + kx]
                } } }
                y[((b * cout + co) * oh + oy) * ow + ox] = s
            } }
        } }
        return y
    }

    static func silu(_ x: Double) -> Double { x / (1 + Foundation.exp(-x)) }
    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())) }
    static func geluTanh(_ x: Double) -> Double {
        0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }
    static func quickGELU(_ x: Double) -> Double { x / (1 + Foundation.exp(-1.702 * x)) }

    /// `[N, C, …]` group norm with optional affine and SiLU.
    static func groupNorm(_ x: [Double], _ shape: [Int], groups: Int, weight: [Double]?, bias: [Double]?, epsilon: Double,
                          silu: Bool) -> [Double] {
        let n = shape[0], c = shape[1], spatial = x.count / (n * c), perGroup = c / groups
        var y = x
        for b in 0 ..< n { for g in 0 ..< groups {
            let start = (b * c + g * perGroup) * spatial, len = perGroup * spatial
            let run = x[start ..< start + len]
            let mean = run.reduce(0, +) / Double(len)
            let variance = run.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(len)
            let rstd = 1 / (variance + epsilon).squareRoot()
            for i in 0 ..< len {
                let channel = g * perGroup + i / spatial
                var v = (x[start + i] - mean) * rstd * (weight?[channel] ?? 1) + (bias?[channel] ?? 0)
                if silu { v = Ref64.silu(v) }
                y[start + i] = v
            }
        } }
        return y
    }

    static func layerNorm(_ x: [Double], d: Int, weight: [Double]?, bias: [Double]?, epsilon: Double) -> [Double] {
        var y = x
        for r in 0 ..< x.count / d {
            let run = x[r * d ..< (r + 1) * d]
            let mean = run.reduce(0, +) / Double(d)
            let variance = run.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(d)
            let rstd = 1 / (variance + epsilon).squareRoot()
            for i in 0 ..< d { y[r * d + i] = (x[r * d + i] - mean) * rstd * (weight?[i] ?? 1) + (bias?[i] ?? 0) }
        }
        return y
    }

    static func softmaxRows(_ x: [Double], cols: Int) -> [Double] {
        var y = x
        for r in 0 ..< x.count / cols {
            let row = x[(r * cols) ..< ((r + 1) * cols)]
            let m = row.max()!
            if m == -.infinity { for j in 0 ..< cols { y[r * cols + j] = 0 }; continue }
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0 ..< cols { y[r * cols + j] = e[j] / s }
        }
        return y
    }

    /// Attention over contiguous `[B, H, N, D]`, `[B, H, M, D]`, `[B, H, M, Dv]`; mask `[B, H, N, M]`.
    static func attention(q: [Double], k: [Double], v: [Double], b: Int, h: Int, n: Int, m: Int, d: Int, dv: Int,
                          scale: Double, causal: Bool, mask: [Double]?) -> [Double] {
        var out = [Double](repeating: 0, count: b * h * n * dv)
        for head in 0 ..< b * h {
            var s = [Double](repeating: 0, count: n * m)
            for i in 0 ..< n { for j in 0 ..< m {
                var dot = 0.0
                for p in 0 ..< d { dot += q[(head * n + i) * d + p] * k[(head * m + j) * d + p] }
                s[i * m + j] = causal && j > i ? -Double.infinity : dot * scale + (mask?[(head * n + i) * m + j] ?? 0)
            } }
            let p = softmaxRows(s, cols: m)
            for i in 0 ..< n { for j in 0 ..< m where p[i * m + j] != 0 { for c in 0 ..< dv {
                out[(head * n + i) * dv + c] += p[i * m + j] * v[(head * m + j) * dv + c]
            } } }
        }
        return out
    }

    static func upsampleNearest(_ x: [Double], _ shape: [Int], factor: Int) -> [Double] {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        return gather(x, shape: [n, c, h * factor, w * factor]) { i in flatIndex([i[0], i[1], i[2] / factor, i[3] / factor], shape) }
    }

    static func avgPool2d(_ x: [Double], _ shape: [Int], kernel: Int, stride: Int) -> [Double] {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let oh = (h - kernel) / stride + 1, ow = (w - kernel) / stride + 1
        var y = [Double](repeating: 0, count: n * c * oh * ow)
        for p in 0 ..< n * c { for oy in 0 ..< oh { for ox in 0 ..< ow {
            var s = 0.0
            for ky in 0 ..< kernel { for kx in 0 ..< kernel { s += x[(p * h + oy * stride + ky) * w + ox * stride + kx] } }
            y[(p * oh + oy) * ow + ox] = s / Double(kernel * kernel)
        } } }
        return y
    }
}
