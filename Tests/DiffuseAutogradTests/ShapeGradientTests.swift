import DiffuseAutograd
import DiffuseTensor
import Testing

@Suite struct ShapeGradientTests {
    @Test func reshapePermuteTranspose() {
        var rng = TestRandom(seed: 60)
        let x = rng.strided([3, 4, 5])
        GradientCheck.unary("reshaped [5, -1]", x, f32: { $0.reshaped(5, -1) }, f64: { $0 })
        GradientCheck.unary("permuted (2, 0, 1)", x, f32: { $0.permuted(2, 0, 1) }, f64: { Ref64.permute($0, [3, 4, 5], [2, 0, 1]) })
        GradientCheck.unary("transposed (0, 2)", x, f32: { $0.transposed(0, 2) }, f64: { Ref64.permute($0, [3, 4, 5], [2, 1, 0]) })
        // Head split as attention does it: [B, N, H·D] → [B, H, N, D] → back.
        let p = rng.tensor([2, 5, 12])
        GradientCheck.unary("head split round trip", p,
                            f32: { $0.reshaped(2, 5, 3, 4).permuted(0, 2, 1, 3).contiguous().permuted(0, 2, 1, 3).reshaped(2, 5, 12) * 2 },
                            f64: { $0.map { 2 * $0 } })
        GradientCheck.unary("unsqueezed/squeezed", x, f32: { $0.unsqueezed(1).unsqueezed(4).squeezed(1) },
                            f64: { $0 })
    }

    @Test func narrowAndSelect() {
        var rng = TestRandom(seed: 61)
        let x = rng.strided([4, 7, 3])
        GradientCheck.unary("narrowed axis 1 [2, 6)", x, f32: { $0.narrowed(axis: 1, start: 2, length: 4) },
                            f64: { Ref64.narrow($0, [4, 7, 3], axis: 1, start: 2, length: 4) })
        GradientCheck.unary("narrowed axis -1 [0, 1)", x, f32: { $0.narrowed(axis: -1, start: 0, length: 1) },
                            f64: { Ref64.narrow($0, [4, 7, 3], axis: 2, start: 0, length: 1) })
        GradientCheck.unary("selecting axis 0 index 3", x, f32: { $0.selecting(axis: 0, index: 3) },
                            f64: { Ref64.narrow($0, [4, 7, 3], axis: 0, start: 3, length: 1) })
    }

    @Test func expand() {
        var rng = TestRandom(seed: 62)
        let x = rng.tensor([3, 1, 5])
        GradientCheck.unary("expanded [2, 3, 4, 5]", x, f32: { $0.expanded([2, 3, 4, 5]) },
                            f64: { Ref64.expand($0, [3, 1, 5], to: [2, 3, 4, 5]) })
    }

    @Test func concatenateAndSplit() {
        var rng = TestRandom(seed: 63)
        let a = rng.strided([2, 3, 5]), b = rng.tensor([2, 4, 5]), c = rng.tensor([2, 1, 5])
        GradientCheck.run("concatenate axis 1", inputs: [a, b, c], f32: { [Variable.concatenate($0, axis: 1)] },
                          f64: { [Ref64.concatenate([($0[0], [2, 3, 5]), ($0[1], [2, 4, 5]), ($0[2], [2, 1, 5])], axis: 1)] })
        let x = rng.strided([3, 10])
        GradientCheck.run("split [3, 2, 5] axis 1", inputs: [x], f32: { $0[0].split(sizes: [3, 2, 5], axis: 1) }, f64: { v in
            [Ref64.narrow(v[0], [3, 10], axis: 1, start: 0, length: 3), Ref64.narrow(v[0], [3, 10], axis: 1, start: 3, length: 2),
             Ref64.narrow(v[0], [3, 10], axis: 1, start: 5, length: 5)]
        })
        // Only some chunks are used: the others contribute zeros.
        GradientCheck.unary("chunked 3 axis -1, middle chunk used", rng.tensor([4, 9]),
                            f32: { $0.chunked(3, axis: -1)[1] * 3 },
                            f64: { Ref64.narrow($0, [4, 9], axis: 1, start: 3, length: 3).map { $0 * 3 } })
        GradientCheck.unary("chunked 2 axis 0, both used", rng.tensor([6, 3]),
                            f32: { let h = $0.chunked(2, axis: 0); return h[0] * h[1] },
                            f64: { v in (0 ..< 9).map { v[$0] * v[9 + $0] } })
    }

    @Test func pad() {
        var rng = TestRandom(seed: 64)
        let x = rng.strided([2, 3, 5, 4])
        let padding = Padding2D(top: 1, bottom: 2, left: 0, right: 3)
        GradientCheck.unary("padded t1 b2 l0 r3", x, f32: { $0.padded(padding, value: 0.5) }, f64: { v in
            Ref64.gather(v, shape: [2, 3, 8, 7], fill: 0.5) { i in
                let (y, xx) = (i[2] - 1, i[3])
                return y >= 0 && y < 5 && xx < 4 ? Ref64.flatIndex([i[0], i[1], y, xx], [2, 3, 5, 4]) : nil
            }
        })
    }
}
