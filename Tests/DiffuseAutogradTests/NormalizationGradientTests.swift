import DiffuseAutograd
import DiffuseTensor
import Testing

@Suite struct NormalizationGradientTests {
    @Test(arguments: [false, true])
    func groupNorm(_ silu: Bool) {
        var rng = TestRandom(seed: silu ? 91 : 90)
        // 6 channels in 3 groups over 5×7 positions (odd: vector body and tail), non-contiguous input.
        let shape = [2, 6, 5, 7]
        let x = rng.strided(shape, scale: 2), w = rng.tensor([6]).affine(scale: 0.5, shift: 1), b = rng.tensor([6], scale: 0.5)
        GradientCheck.run("groupNorm silu=\(silu) \(shape) 3 groups", inputs: [x, w, b], f32: { v in
            [v[0].groupNorm(groups: 3, weight: v[1], bias: v[2], epsilon: 1e-5, silu: silu)]
        }, f64: { v in
            [Ref64.groupNorm(v[0], shape, groups: 3, weight: v[1], bias: v[2], epsilon: 1e-5, silu: silu)]
        })
        // No affine parameters; one channel per group; rank 3 ([N, C, L]).
        let y = rng.tensor([3, 4, 9])
        GradientCheck.run("groupNorm silu=\(silu) [3, 4, 9] no affine", inputs: [y], f32: { v in
            [v[0].groupNorm(groups: 4, weight: nil, bias: nil, silu: silu)]
        }, f64: { v in
            [Ref64.groupNorm(v[0], [3, 4, 9], groups: 4, weight: nil, bias: nil, epsilon: 1e-5, silu: silu)]
        })
        // Weight but no bias, frozen input (parameter gradients only).
        GradientCheck.run("groupNorm silu=\(silu) weight only", inputs: [x, w], differentiable: [false, true], f32: { v in
            [v[0].groupNorm(groups: 2, weight: v[1], bias: nil, silu: silu)]
        }, f64: { v in
            [Ref64.groupNorm(v[0], shape, groups: 2, weight: v[1], bias: nil, epsilon: 1e-5, silu: silu)]
        })
    }

    @Test func layerNorm() {
        var rng = TestRandom(seed: 92)
        for d in [5, 8, 21] {
            let x = rng.strided([3, 4, d], scale: 1.5), w = rng.tensor([d]).affine(scale: 0.5, shift: 1), b = rng.tensor([d])
            GradientCheck.run("layerNorm [3, 4, \(d)]", inputs: [x, w, b], f32: { v in
                [v[0].layerNorm(weight: v[1], bias: v[2])]
            }, f64: { v in [Ref64.layerNorm(v[0], d: d, weight: v[1], bias: v[2], epsilon: 1e-5)] })
        }
        let x = rng.tensor([7, 12])
        GradientCheck.run("layerNorm without affine", inputs: [x], f32: { [$0[0].layerNorm(weight: nil, bias: nil)] },
                          f64: { [Ref64.layerNorm($0[0], d: 12, weight: nil, bias: nil, epsilon: 1e-5)] })
    }

    @Test func softmax() {
        var rng = TestRandom(seed: 93)
        let x = rng.strided([3, 5, 11], scale: 2)
        GradientCheck.unary("softmax last axis", x, f32: { $0.softmax() }, f64: { Ref64.softmaxRows($0, cols: 11) })
        GradientCheck.unary("softmax axis 1", x, f32: { $0.softmax(axis: 1) }, f64: { v in
            Ref64.permute(Ref64.softmaxRows(Ref64.permute(v, [3, 5, 11], [0, 2, 1]), cols: 5), [3, 11, 5], [0, 2, 1])
        })
    }
}
