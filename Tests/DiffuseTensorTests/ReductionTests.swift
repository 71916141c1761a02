import DiffuseTensor
import Testing

@Suite struct ReductionTests {
    /// Reference reduction over `axes` of a row-major array with `shape`.
    static func reduce(_ x: [Double], _ shape: [Int], axes: Set<Int>, _ f: ([Double]) -> Double) -> [Double] {
        let kept = (0 ..< shape.count).filter { !axes.contains($0) }
        var groups: [[Int]: [Double]] = [:]
        var order: [[Int]] = []
        let strides = Naive.strides(shape)
        for i in 0 ..< x.count {
            let key = kept.map { (i / strides[$0]) % shape[$0] }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(x[i])
        }
        return order.sorted { $0.lexicographicallyPrecedes($1) }.map { f(groups[$0]!) }
    }

    @Test func sumMeanVarianceMax() {
        var rng = TestRandom(seed: 11)
        let shape = [3, 7, 5, 11]
        for input in [rng.tensor(shape), rng.strided(shape)] {
            let d = doubles(input)
            for axes in [[0], [1], [3], [1, 2], [2, 3], [0, 2], []] {
                let set = Set(axes.isEmpty ? Array(0 ..< 4) : axes)
                let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
                expectClose(input.sum(axes: axes), Self.reduce(d, shape, axes: set) { $0.reduce(0, +) }, "sum \(axes)")
                expectClose(input.mean(axes: axes), Self.reduce(d, shape, axes: set, mean), "mean \(axes)")
                expectClose(input.variance(axes: axes), Self.reduce(d, shape, axes: set) { v in
                    let m = mean(v); return v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)
                }, "variance \(axes)")
                expectClose(input.variance(axes: axes, correction: 1), Self.reduce(d, shape, axes: set) { v in
                    let m = mean(v); return v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)
                }, "unbiased variance \(axes)")
                expectClose(input.max(axes: axes), Self.reduce(d, shape, axes: set) { $0.max()! }, "max \(axes)")
            }
        }
        let kept = rng.tensor([2, 3, 4]).sum(axes: [1], keepDims: true)
        #expect(kept.shape == [2, 1, 4])
    }

    @Test func longSumStaysAccurate() {
        var rng = TestRandom(seed: 12)
        let x = rng.tensor([1_000_003])
        expectClose(x.sum(), [doubles(x).reduce(0, +)], tolerance: 1e-5, "sum of 1e6 normals")
    }
}
