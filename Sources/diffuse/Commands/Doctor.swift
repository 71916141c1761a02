import ArgumentParser
import DiffuseTensor
import Foundation

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that this machine can run Diffuse, and exercise the tensor engine end to end."
    )

    func run() throws {
        try requireSupportedCPU()
        print("CPU: AVX2, FMA and F16C present")
        print("threads: \(Parallel.threadCount) (\(Parallel.runtimeDescription))")
        print("attention kernel: \(AttentionKernel.preferred) (this CPU runs: \(AttentionKernel.available.map(\.description).joined(separator: ", ")))")
        // A 3×3 convolution of a UNet's shape: what oneDNN runs for it, direct and as Winograd.
        let geometry = ConvGeometry(kernel: (3, 3), padding: Padding2D(1))
        func convolution(_ algorithm: OneDNNConvolution.Algorithm) -> String {
            OneDNNConvolution.$algorithm.withValue(algorithm) {
                OneDNNConvolution.implementation(.forward, input: [1, 64, 32, 32], weight: [64, 64, 3, 3], geometry: geometry,
                                                 groups: 1, hasBias: true) ?? "im2col (oneDNN off or declined)"
            }
        }
        let winograd = convolution(.winograd)
        let ownWinograd = OneDNNConvolution.$algorithm.withValue(.winograd) { WinogradConvolution.isActive }
        print("convolutions: \(convolution(.direct)); for training, the VAE and the UNet's large levels: "
              + (ownWinograd ? "Diffuse's Winograd F(4×4, 3×3) (AVX2 + FMA; oneDNN's \(winograd) where it declines)" : winograd))
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
}
