import DiffuseTensor
import Testing

@Suite struct MatMulTests {
    @Test(arguments: [(1, 1, 1), (7, 13, 5), (33, 17, 129), (257, 64, 31), (300, 301, 299)])
    func matmulMatchesNaive(_ sizes: (Int, Int, Int)) {
        let (m, k, n) = sizes
        var rng = TestRandom(seed: UInt64(m * 1000 + k))
        let a = rng.tensor([m, k]), b = rng.tensor([k, n])
        let ref = Naive.matmul(doubles(a), doubles(b), m: m, k: k, n: n)
        expectClose(a.matmul(b), ref, shape: [m, n], "matmul \(m)x\(k)x\(n)")
        // Transposed views go to BLAS without a copy; general strided views are copied.
        let at = rng.tensor([k, m]).transposed(), bt = rng.tensor([n, k]).transposed()
        expectClose(at.matmul(bt), Naive.matmul(doubles(at), doubles(bt), m: m, k: k, n: n), shape: [m, n], "matmul transposed \(m)x\(k)x\(n)")
        let sa = rng.strided([m, k])
        expectClose(sa.matmul(b), Naive.matmul(doubles(sa), doubles(b), m: m, k: k, n: n), "matmul strided \(m)x\(k)x\(n)")
    }

    @Test func batchedAndBroadcastMatmul() {
        var rng = TestRandom(seed: 21)
        let a = rng.tensor([3, 2, 7, 5]), b = rng.tensor([2, 5, 11])  // b broadcasts over the leading 3
        let out = a.matmul(b)
        #expect(out.shape == [3, 2, 7, 11])
        var ref: [Double] = []
        let da = doubles(a), db = doubles(b)
        for i in 0 ..< 3 { for j in 0 ..< 2 {
            ref += Naive.matmul(Array(da[((i * 2 + j) * 35) ..< ((i * 2 + j + 1) * 35)]), Array(db[(j * 55) ..< ((j + 1) * 55)]), m: 7, k: 5, n: 11)
        } }
        expectClose(out, ref, "batched matmul")
        let v = rng.tensor([5])
        #expect(rng.tensor([7, 5]).matmul(v).shape == [7])
        #expect(v.matmul(rng.tensor([5, 3])).shape == [3])
    }

    @Test func linearWithAndWithoutBias() {
        var rng = TestRandom(seed: 31)
        let x = rng.tensor([2, 13, 37]), w = rng.tensor([29, 37]), bias = rng.tensor([29])
        let dx = doubles(x), dw = doubles(w), db = doubles(bias)
        var ref: [Double] = []
        for r in 0 ..< 26 { for o in 0 ..< 29 {
            var s = db[o]
            for i in 0 ..< 37 { s += dx[r * 37 + i] * dw[o * 37 + i] }
            ref.append(s)
        } }
        expectClose(x.linear(weight: w, bias: bias), ref, shape: [2, 13, 29], "linear")
        let noBias = zip(ref, (0 ..< ref.count).map { db[$0 % 29] }).map { $0 - $1 }
        expectClose(x.linear(weight: w), noBias, "linear without bias")
        let xs = rng.strided([4, 37])
        let ys = xs.linear(weight: w, bias: bias)
        #expect(ys.shape == [4, 29])
    }
}
