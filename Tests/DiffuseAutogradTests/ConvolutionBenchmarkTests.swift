import DiffuseAutograd
import DiffuseTensor
import Foundation
import Testing

/// Speed of conv2d's backward pass at the shapes of a small (≈15M-parameter) UNet at 32×32,
/// batch 32. Opt-in (`DIFFUSE_BENCH=1 swift test -c release --filter ConvolutionBenchmark`): it
/// takes a while and wants an otherwise idle machine.
@Suite struct ConvolutionBenchmarkTests {
    struct Shape {
        var name: String, batch: Int, cin: Int, cout: Int, size: Int, kernel: Int, stride: Int = 1, inputGradient = true
    }

    static let shapes: [Shape] = [
        Shape(name: "conv_in 3→64 @32²", batch: 32, cin: 3, cout: 64, size: 32, kernel: 3, inputGradient: false),
        Shape(name: "resnet 64→64 @32²", batch: 32, cin: 64, cout: 64, size: 32, kernel: 3),
        Shape(name: "downsample 64→64 @32² s2", batch: 32, cin: 64, cout: 64, size: 32, kernel: 3, stride: 2),
        Shape(name: "resnet 128→128 @16²", batch: 32, cin: 128, cout: 128, size: 16, kernel: 3),
        Shape(name: "shortcut 64→128 @16² 1×1", batch: 32, cin: 64, cout: 128, size: 16, kernel: 1),
        Shape(name: "resnet 256→256 @8²", batch: 32, cin: 256, cout: 256, size: 8, kernel: 3),
    ]

    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Best of `runs` (the machine is shared: the minimum is the least disturbed run).
    static func best(_ runs: Int, _ body: () -> Double) -> Double {
        (0 ..< runs).map { _ in body() }.min()!
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DIFFUSE_BENCH"] != nil))
    func conv2dBackwardAtUNetShapes() {
        var rng = TestRandom(seed: 170)
        // Reference point: a square SGEMM on all cores.
        let a = rng.tensor([1024, 1024]), b2 = rng.tensor([1024, 1024])
        let gemm = Self.best(5) { Self.seconds { _ = a.matmul(b2) } }
        print(String(format: "[bench] threads: %d; sgemm 1024³ %.1f GFLOP/s", Parallel.threadCount, 2 * 1024 * 1024 * 1024 / gemm / 1e9))
        for s in Self.shapes {
            let padding = Padding2D(s.kernel / 2)
            let x = rng.tensor([s.batch, s.cin, s.size, s.size]), w = rng.tensor([s.cout, s.cin, s.kernel, s.kernel], scale: 0.05)
            let b = rng.tensor([s.cout])
            let out = s.size / s.stride
            let dy = rng.tensor([s.batch, s.cout, out, out])
            let flops = 2.0 * Double(s.batch * s.cout * out * out * s.cin * s.kernel * s.kernel)
            _ = x.conv2d(weight: w, bias: b, stride: (s.stride, s.stride), padding: padding)   // warm up
            let forward = Self.best(7) { Self.seconds { _ = x.conv2d(weight: w, bias: b, stride: (s.stride, s.stride), padding: padding) } }
            let backward = Self.best(7) {
                let input = Variable(x, requiresGrad: s.inputGradient)
                let weight = Variable(w, requiresGrad: true), bias = Variable(b, requiresGrad: true)
                let y = input.conv2d(weight: weight, bias: bias, stride: (s.stride, s.stride), padding: padding)
                return Self.seconds { y.backward(gradient: dy) }
            }
            let backwardFlops = flops * (s.inputGradient ? 2 : 1)
            print(String(format: "[bench] %-26@ forward %7.2f ms (%5.1f GFLOP/s)   backward %7.2f ms (%5.1f GFLOP/s)   ratio %.2f",
                         s.name as NSString, forward * 1e3, flops / forward / 1e9, backward * 1e3, backwardFlops / backward / 1e9,
                         backward / forward))
            // The backward pass does one (first layer) or two forward passes' worth of GEMM work.
            #expect(backward < (s.inputGradient ? 4 : 3) * forward, "\(s.name): backward \(backward) s vs forward \(forward) s")
        }
    }
}
