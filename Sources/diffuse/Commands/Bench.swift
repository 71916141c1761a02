import ArgumentParser
import DiffuseTensor
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the tensor engine's kernels at Stable Diffusion's shapes.",
        discussion: """
        Prints, for each kernel, the median time over the repetitions, the rate in GFLOP/s and its \
        ratio to the machine's float32 ceiling (`--ceiling`, by default 169 GFLOP/s: numpy's 4096² \
        sgemm on the 2-core reference machine). Use DIFFUSE_THREADS to change the thread count.
        """
    )

    @Option(help: "Timed repetitions per kernel (after one warm-up run).")
    var repetitions = 5

    @Option(help: "The machine's practical float32 rate in GFLOP/s, for the ratio column.")
    var ceiling = 169.0

    @Option(help: "Attention query block (rows per task).")
    var queryBlock = 128

    @Option(help: "Attention key block (keys per online-softmax step).")
    var keyBlock = 1024

    @Option(help: "Which groups to run: gemm, conv, attention (comma-separated).")
    var only = "gemm,conv,attention"

    func run() throws {
        try requireSupportedCPU()
        guard repetitions > 0 else { throw ValidationError("--repetitions must be at least 1") }
        let groups = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let unknown = groups.subtracting(["gemm", "conv", "attention"])
        guard unknown.isEmpty else { throw ValidationError("unknown benchmark group(s): \(unknown.sorted().joined(separator: ", "))") }
        print("threads \(Parallel.threadCount), ceiling \(ceiling) GFLOP/s, median of \(repetitions)")
        print(String(repeating: "-", count: 78))
        var random = BenchRandom()
        if groups.contains("gemm") {
            for (m, k, n) in [(1024, 1024, 1024), (4096, 4096, 4096), (4096, 320, 1280), (1024, 640, 2560)] {
                let a = random.tensor([m, k]), b = random.tensor([k, n])
                report("gemm \(m)×\(k) · \(k)×\(n)", flops: 2 * Double(m * n * k)) { _ = a.matmul(b) }
            }
        }
        if groups.contains("conv") {
            for (c, h, co) in [(320, 64, 320), (640, 32, 640), (128, 256, 128)] {
                let x = random.tensor([1, c, h, h]), w = random.tensor([co, c, 3, 3]), bias = random.tensor([co])
                report("conv2d 3×3 1×\(c)×\(h)×\(h) → \(co)", flops: 2 * Double(co * c * 9 * h * h)) {
                    _ = x.conv2d(weight: w, bias: bias, padding: Padding2D(1))
                }
            }
        }
        if groups.contains("attention") {
            let (heads, tokens, dim) = (8, 4096, 40)
            let q = random.tensor([1, heads, tokens, dim]), k = random.tensor([1, heads, tokens, dim]), v = random.tensor([1, heads, tokens, dim])
            report("attention \(tokens) tokens, \(heads) heads of \(dim)", flops: 4 * Double(heads * tokens * tokens * dim)) {
                _ = Attention.scaledDotProduct(query: q, key: k, value: v, queryBlock: queryBlock, keyBlock: keyBlock)
            }
        }
    }

    func report(_ name: String, flops: Double, _ body: () -> Void) {
        body()  // warm-up
        var times: [Double] = []
        for _ in 0 ..< repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let median = times.sorted()[times.count / 2]
        let rate = flops / median / 1e9
        let line = String(format: "%-44@ %9.2f ms %8.1f GFLOP/s %5.0f%%", name as NSString, median * 1e3, rate, 100 * rate / ceiling)
        print(line)
    }
}

/// Uniform values in [-1, 1) from SplitMix64, for benchmark inputs.
struct BenchRandom {
    var state: UInt64 = 0x1234_5678
    mutating func tensor(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0 ..< n {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            values[i] = Float(Double((z ^ (z >> 31)) >> 40) / Double(1 << 24)) * 2 - 1
        }
        return Tensor(shape: shape, values)
    }
}
