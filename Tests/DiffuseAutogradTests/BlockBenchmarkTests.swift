import DiffuseAutograd
import DiffuseTensor
import Foundation
import Testing

/// Forward and backward time of the UNet's building blocks at training shapes (batch 32, 32×32
/// images). Opt-in like `ConvolutionBenchmarkTests` (`DIFFUSE_BENCH=1`).
@Suite struct BlockBenchmarkTests {
    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Best forward time (recording on) and best backward time over `runs` (the machine is shared:
    /// the minimum is the least disturbed run).
    static func measure(runs: Int = 7, _ build: () -> (Variable, Tensor)) -> (forward: Double, backward: Double) {
        var forward: [Double] = [], backward: [Double] = []
        for _ in 0 ..< runs {
            var result: (Variable, Tensor)?
            forward.append(seconds { result = build() })
            let (y, dy) = result!
            backward.append(seconds { y.backward(gradient: dy) })
        }
        return (forward.min()!, backward.min()!)
    }

    static func report(_ name: String, _ t: (forward: Double, backward: Double)) {
        print(String(format: "[bench] %-34@ forward %7.2f ms   backward %7.2f ms   ratio %.2f",
                     name as NSString, t.forward * 1e3, t.backward * 1e3, t.backward / t.forward))
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DIFFUSE_BENCH"] != nil))
    func attentionAndResnetBlock() {
        var rng = TestRandom(seed: 180)
        // Self-attention at 16×16 (N = 256), 128 channels in 4 heads of 32.
        for (n, channels, heads) in [(256, 128, 4), (64, 256, 8)] {
            let d = channels / heads
            let q = rng.tensor([32, n, channels]), k = rng.tensor([32, n, channels]), v = rng.tensor([32, n, channels])
            let dy = rng.tensor([32, heads, n, d])
            func split(_ t: Variable) -> Variable { t.reshaped(32, n, heads, d).permuted(0, 2, 1, 3) }
            _ = Attention.scaledDotProduct(query: q.reshaped(32, n, heads, d).permuted(0, 2, 1, 3),
                                           key: k.reshaped(32, n, heads, d).permuted(0, 2, 1, 3),
                                           value: v.reshaped(32, n, heads, d).permuted(0, 2, 1, 3))
            let t = Self.measure {
                let (qv, kv, vv) = (Variable(q, requiresGrad: true), Variable(k, requiresGrad: true), Variable(v, requiresGrad: true))
                return (Attention.scaledDotProduct(query: split(qv), key: split(kv), value: split(vv)), dy)
            }
            Self.report("attention B32 H\(heads) N\(n) D\(d)", t)
            #expect(t.backward < 6 * t.forward)
        }

        // ResNet block 64→64 at 32×32 with a time embedding: GN+SiLU → conv → +temb → GN+SiLU → conv → +x.
        let c = 64
        let x = rng.tensor([32, c, 32, 32]), temb = rng.tensor([32, 256])
        let w1 = Variable(rng.tensor([c, c, 3, 3], scale: 0.05), requiresGrad: true), b1 = Variable(.zeros([c]), requiresGrad: true)
        let w2 = Variable(rng.tensor([c, c, 3, 3], scale: 0.05), requiresGrad: true), b2 = Variable(.zeros([c]), requiresGrad: true)
        let g1 = Variable(.ones([c]), requiresGrad: true), s1 = Variable(.zeros([c]), requiresGrad: true)
        let g2 = Variable(.ones([c]), requiresGrad: true), s2 = Variable(.zeros([c]), requiresGrad: true)
        let proj = Variable(rng.tensor([c, 256], scale: 0.05), requiresGrad: true), projB = Variable(.zeros([c]), requiresGrad: true)
        let dy = rng.tensor([32, c, 32, 32])
        func block(_ input: Variable, _ t: Variable) -> Variable {
            var h = input.groupNorm(groups: 32, weight: g1, bias: s1, silu: true).conv2d(weight: w1, bias: b1, padding: Padding2D(1))
            h = h + t.silu().linear(weight: proj, bias: projB).reshaped(32, c, 1, 1)
            h = h.groupNorm(groups: 32, weight: g2, bias: s2, silu: true).conv2d(weight: w2, bias: b2, padding: Padding2D(1))
            return input + h
        }
        let plain = Self.measure { (block(Variable(x, requiresGrad: true), Variable(temb)), dy) }
        Self.report("resnet block 64@32² (batch 32)", plain)
        let checkpointed = Self.measure { (checkpoint(Variable(x, requiresGrad: true), Variable(temb)) { block($0, $1) }, dy) }
        Self.report("same, checkpointed", checkpointed)
        #expect(plain.backward < 4 * plain.forward)
    }
}
