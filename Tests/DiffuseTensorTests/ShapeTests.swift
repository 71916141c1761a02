import DiffuseTensor
import Testing

@Suite struct ShapeTests {
    @Test func viewsShareStorageAndIndexCorrectly() {
        let x = Tensor(shape: [2, 3, 4], (0 ..< 24).map(Float.init))
        let p = x.permuted(2, 0, 1)
        #expect(p.shape == [4, 2, 3])
        #expect(p[3, 1, 2] == x[1, 2, 3])
        #expect(!p.isContiguous)
        var expected: [Float] = []
        for k in 0 ..< 4 { for i in 0 ..< 2 { for j in 0 ..< 3 { expected.append(Float(i * 12 + j * 4 + k)) } } }
        #expect(p.contiguous().scalars == expected)
        let n = x.narrowed(axis: 2, start: 1, length: 2)
        #expect(n.scalars == [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22])
        #expect(x.selecting(axis: 1, index: 2).scalars == [8, 9, 10, 11, 20, 21, 22, 23])
        #expect(x.reshaped(6, -1).shape == [6, 4])
        #expect(x.transposed(0, 2).reshaped(-1).count == 24)
        #expect(x.unsqueezed(1).shape == [2, 1, 3, 4])
        #expect(x.unsqueezed(3).squeezed(3).shape == [2, 3, 4])
    }

    @Test func concatenateAndSplitRoundTrip() {
        var rng = TestRandom(seed: 3)
        for axis in 0 ..< 3 {
            var a = [5, 7, 3], b = [5, 7, 3], c = [5, 7, 3]
            a[axis] = 2; b[axis] = 1; c[axis] = 4
            let ta = rng.tensor(a), tb = rng.strided(b), tc = rng.tensor(c)
            let joined = Tensor.concatenate([ta, tb, tc], axis: axis)
            var expected = [5, 7, 3]; expected[axis] = 7
            #expect(joined.shape == expected)
            let parts = joined.split(sizes: [2, 1, 4], axis: axis)
            #expect(parts[0].scalars == ta.scalars)
            #expect(parts[1].scalars == tb.scalars)
            #expect(parts[2].scalars == tc.scalars)
        }
        let x = rng.tensor([4, 6])
        let halves = x.chunked(2, axis: 1)
        #expect(Tensor.concatenate(halves, axis: 1).scalars == x.scalars)
    }

    @Test func embeddingAndTimestepEmbedding() {
        let table = Tensor(shape: [5, 3], (0 ..< 15).map(Float.init))
        #expect(table.embedding([4, 0, 2]).scalars == [12, 13, 14, 0, 1, 2, 6, 7, 8])
        // diffusers get_timestep_embedding(t, 6, flip_sin_to_cos=True, downscale_freq_shift=0) for t = 0 and 500.
        let e = Tensor.timestepEmbedding([0, 500], dim: 6, flipSinToCos: true, downscaleFreqShift: 0)
        #expect(e.shape == [2, 6])
        let freqs = (0 ..< 3).map { Foundation.exp(-Foundation.log(10000.0) * Double($0) / 3) }
        var ref: [Double] = []
        for t in [0.0, 500.0] {
            ref += freqs.map { Foundation.cos(t * $0) } + freqs.map { Foundation.sin(t * $0) }
        }
        expectClose(e, ref, tolerance: 1e-5, "timestep embedding")
        // Odd dimension pads with a zero; downscaleFreqShift 1 changes the denominator.
        let odd = Tensor.timestepEmbedding([3], dim: 5, flipSinToCos: false, downscaleFreqShift: 1)
        #expect(odd.shape == [1, 5] && odd[0, 4] == 0)
        #expect(abs(Double(odd[0, 1]) - Foundation.sin(3 * Foundation.exp(-Foundation.log(10000.0) / 1))) < 1e-6)
    }
}

import Foundation

@Suite struct PixelShuffleTests {
    /// torch's pixel_unshuffle layout: channel c·f² + dy·f + dx holds pixel (f·y + dy, f·x + dx).
    @Test func spaceToDepthMatchesPixelUnshuffleAndInverts() {
        let (b, c, h, w, f) = (2, 3, 4, 6, 2)
        let x = Tensor(shape: [b, c, h, w], (0 ..< b * c * h * w).map { Float($0) })
        let y = x.spaceToDepth(f)
        #expect(y.shape == [b, c * f * f, h / f, w / f])
        let xs = x.scalars, ys = y.scalars
        var mismatches = 0
        for n in 0 ..< b { for ch in 0 ..< c { for dy in 0 ..< f { for dx in 0 ..< f { for yy in 0 ..< h / f { for xx in 0 ..< w / f {
            let out = ((n * c * f * f + ch * f * f + dy * f + dx) * (h / f) + yy) * (w / f) + xx
            let src = ((n * c + ch) * h + yy * f + dy) * w + xx * f + dx
            if ys[out] != xs[src] { mismatches += 1 }
        } } } } } }
        #expect(mismatches == 0)
        #expect(y.depthToSpace(f).scalars == xs)
        #expect(x.spaceToDepth(1).scalars == xs)
    }
}
