import ArgumentParser
import DiffuseTensor
import Foundation

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that this machine can run Diffuse, and exercise the tensor engine end to end."
    )

    func run() throws {
        try prepareEngine()
        print("CPU: AVX2, FMA and F16C present")
        print("threads: \(Parallel.threadCount) (\(Parallel.runtimeDescription))")
        print("vector width of Diffuse's C kernels: \(AttentionKernel.vectorWidth == 16 ? "AVX-512 (16 floats)" : "AVX2 + FMA (8 floats)")")
        print("settings (environment variables):")
        for setting in EngineSettings.current.summary {
            print("  \(setting.name): \(setting.value)  [\(setting.variable)]")
        }
        print("attention kernel: \(AttentionKernel.preferred) (this CPU runs: \(AttentionKernel.available.map(\.description).joined(separator: ", ")))")
        print("GEMM across cores: \(BLAS.parallelBackend == .onednn ? "oneDNN dnnl_sgemm" : "OpenBLAS"); within a worker: OpenBLAS")
        print("3×3 convolutions of a Stable Diffusion 1.5 UNet at inference (batch 2, algorithm automatic):")
        for (size, levels) in [(512, [(64, 320), (32, 640), (16, 1280), (8, 1280)]), (256, [(32, 320), (16, 640), (8, 1280), (4, 1280)])] {
            let kernels = levels.map { "\($0.0)² × \($0.1) channels: \(Self.convolutionKernel(side: $0.0, channels: $0.1, algorithm: .automatic))" }
            print("  \(size)² image: " + kernels.joined(separator: "; "))
        }
        print("  the VAE and training (Winograd asked for), 64² × 128 channels: \(Self.convolutionKernel(side: 64, channels: 128, algorithm: .winograd))")
        var random = BenchRandom()
        // A miniature UNet stage: conv → group norm + SiLU → self-attention over the pixels → conv.
        let image = random.tensor([1, 32, 32, 32])
        let w1 = random.tensor([64, 32, 3, 3]) * 0.05, w2 = random.tensor([32, 64, 3, 3]) * 0.05
        let start = Date()
        var h = image.conv2d(weight: w1, padding: Padding2D(1))
        h = h.groupNorm(groups: 32, weight: nil, bias: nil, silu: true)
        let tokens = h.reshaped(1, 64, 1024).transposed(1, 2).unsqueezed(1)  // [1, 1, 1024, 64]
        let attended = Attention.scaledDotProduct(query: tokens, key: tokens, value: tokens)
        h = h + attended.squeezed(1).transposed(1, 2).reshaped(1, 64, 32, 32)
        let out = h.conv2d(weight: w2, padding: Padding2D(1))
        let elapsed = Date().timeIntervalSince(start)
        let stats = (out.mean().item, out.variance().item.squareRoot())
        print(String(format: "engine: conv → groupnorm+SiLU → attention (1024 tokens) → conv in %.1f ms; output %@ mean %.4f std %.4f",
                     elapsed * 1e3, "\(out.shape)" as NSString, stats.0, stats.1))
        guard stats.0.isFinite && stats.1.isFinite && stats.1 > 0 else {
            throw CLIError("engine produced non-finite or constant output")
        }
        let a = random.tensor([1024, 1024]), b = random.tensor([1024, 1024])
        let t0 = Date()
        _ = a.matmul(b)
        print(String(format: "BLAS: 1024² sgemm at %.1f GFLOP/s (%@)", 2 * 1024 * 1024 * 1024 / Date().timeIntervalSince(t0) / 1e9,
                     (BLAS.parallelBackend == .onednn ? "oneDNN" : "OpenBLAS") as NSString))
        print("ok")
    }

    /// What runs a 3×3, stride-1 convolution of `channels` → `channels` channels on a batch-2
    /// `side`² input under `algorithm`, for a layer that packs its weight (as the UNet's and the
    /// VAE's do at inference): `Convolution`'s choice.
    static func convolutionKernel(side: Int, channels: Int, algorithm: OneDNNConvolution.Algorithm) -> String {
        let geometry = ConvGeometry(kernel: (3, 3), padding: Padding2D(1))
        return OneDNNConvolution.$algorithm.withValue(algorithm) {
            Convolution.kernel(input: [2, channels, side, side], weight: [channels, channels, 3, 3], geometry: geometry,
                               groups: 1, hasBias: true, packable: true).description
        }
    }
}
