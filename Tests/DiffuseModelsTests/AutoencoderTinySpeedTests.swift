import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// Decode time of a full-size TAESD (and, for comparison on the same machine, SD 1.5's KL VAE) at
/// 512² (1×4×64×64 latents). Runs only when `DIFFUSE_TAESD_BENCH` names the folder that
/// `tools/make_taesd_fixtures.py --full-size DIR` wrote (random weights, diffusers' default
/// config); `DIFFUSE_KL_BENCH` may name an `AutoencoderKL` folder (`--kl-vae DIR`) to time too;
/// with `DIFFUSE_PROFILE=1` the time per tensor operation is printed as well.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["DIFFUSE_TAESD_BENCH"] != nil))
struct AutoencoderTinySpeedTests {
    static func time(_ label: String, repetitions: Int, _ body: () -> Tensor) -> Tensor {
        var out = body()  // warm-up: packs the weights, builds oneDNN's primitives, fills the pool
        OpProfile.reset()
        var times: [Double] = []
        for _ in 0 ..< repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            out = body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        if OpProfile.enabled { print("[bench] \(label), time per op over the \(repetitions) runs (DIFFUSE_PROFILE=1):\n\(OpProfile.report(total: times.reduce(0, +)))") }
        times.sort()
        print("[bench] \(label): median \(String(format: "%.3f", times[times.count / 2])) s, min \(String(format: "%.3f", times[0])) s (\(repetitions) runs after 1 warm-up; \(times.map { String(format: "%.3f", $0) }.joined(separator: ", ")))")
        return out
    }

    @Test func decode512() throws {
        let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["DIFFUSE_TAESD_BENCH"] ?? "")
        let latents = Tensor(shape: [1, 4, 64, 64], (0 ..< 4 * 64 * 64).map { Float(($0 * 7919) % 1000) / 250 - 2 })
        for layout in ["diffusers", "original"] {
            let model = layout == "diffusers"
                ? try AutoencoderTiny.load(diffusersFolder: folder.appendingPathComponent("diffusers"))
                : try AutoencoderTiny.load(originalDecoder: folder.appendingPathComponent("original/taesd_decoder.safetensors"), encoder: nil)
            #expect(model.decoder.parameterCount == 1_222_531)
            model.packConvolutionWeights()
            for algorithm in [OneDNNConvolution.Algorithm.winograd, .direct] where layout == "diffusers" || algorithm == .winograd {
                model.convolutionAlgorithm = algorithm
                let image = Self.time("TAESD decode 512² (\(layout), \(algorithm))", repetitions: 5) { model.decode(latents) }
                #expect(image.shape == [1, 3, 512, 512] && image.scalars.allSatisfy(\.isFinite))
            }
        }
        if let kl = ProcessInfo.processInfo.environment["DIFFUSE_KL_BENCH"] {
            let url = URL(fileURLWithPath: kl)
            let vae = AutoencoderKL(config: try AutoencoderKLConfig(ModelConfig(contentsOf: url.appendingPathComponent("config.json"))))
            try vae.load(from: SafeTensorsWeights(url.appendingPathComponent("diffusion_pytorch_model.safetensors")))
            vae.packConvolutionWeights()
            let image = Self.time("AutoencoderKL (SD 1.5 size) decode 512² (winograd)", repetitions: 2) { vae.decode(latents) }
            #expect(image.shape == [1, 3, 512, 512])
        }
    }
}
