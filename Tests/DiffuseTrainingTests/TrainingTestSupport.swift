import DiffuseAutograd
import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation

/// Seeded normal samples (SplitMix64 + Box–Muller), so every test sees the same weights and data.
struct SeededNormal {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    private mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (Double(z >> 11) + 0.5) / Double(1 << 53)
    }

    mutating func next() -> Float {
        Float((-2 * Foundation.log(uniform())).squareRoot() * Foundation.cos(2 * Double.pi * uniform()))
    }

    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, (0 ..< shape.reduce(1, *)).map { _ in next() * scale })
    }
}

enum TrainingTestSupport {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// Random weights in the spirit of PyTorch's defaults: matrices and kernels ~ N(0, 1/fan_in),
    /// normalization scales 1 ± 0.1, biases ~ N(0, 0.05²).
    static func initialize(_ module: Module, seed: UInt64) {
        var rng = SeededNormal(seed: seed)
        for (key, parameter) in module.namedParameters() {
            let shape = parameter.shape
            if shape.count >= 2 {
                let fanIn = shape.dropFirst().reduce(1, *)
                parameter.value = rng.tensor(shape, scale: 1 / Float(fanIn).squareRoot())
            } else if key.hasSuffix("weight") {
                parameter.value = rng.tensor(shape, scale: 0.1) + 1
            } else {
                parameter.value = rng.tensor(shape, scale: 0.05)
            }
        }
    }

    /// A two-level UNet2DModel (plain + self-attention blocks, multi-head attention, 4 groups).
    static func tinyUNet2D(seed: UInt64 = 7) -> UNet2DModel {
        var config = UNet2DConfig()
        config.inChannels = 3
        config.outChannels = 3
        config.blockOutChannels = [8, 16]
        config.downBlockTypes = ["DownBlock2D", "AttnDownBlock2D"]
        config.upBlockTypes = ["AttnUpBlock2D", "UpBlock2D"]
        config.layersPerBlock = 1
        config.normNumGroups = 4
        config.attentionHeadDim = 8
        let model = UNet2DModel(config: config)
        initialize(model, seed: seed)
        return model
    }

    /// A two-level UNet2DConditionModel (cross-attention down and up blocks, transformer mid block).
    static func tinyConditionUNet(seed: UInt64 = 11) -> UNet2DConditionModel {
        var config = UNet2DConditionConfig()
        config.inChannels = 4
        config.outChannels = 4
        config.blockOutChannels = [8, 16]
        config.downBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"]
        config.upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D"]
        config.layersPerBlock = [1, 1]
        config.normNumGroups = 4
        config.crossAttentionDim = [12, 12]
        config.transformerLayersPerBlock = [1, 1]
        config.attentionHeads = [2, 2]
        let model = UNet2DConditionModel(config: config)
        initialize(model, seed: seed)
        return model
    }

    /// ‖a − b‖ / ‖b‖ in double precision.
    static func relativeL2(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "relativeL2: \(a.shape) vs \(b.shape)")
        let x = a.scalars, y = b.scalars
        var num = 0.0, den = 0.0
        for i in 0 ..< x.count {
            let d = Double(x[i]) - Double(y[i])
            num += d * d
            den += Double(y[i]) * Double(y[i])
        }
        return (num / Swift.max(den, 1e-300)).squareRoot()
    }

    /// max |a − b| over all elements.
    static func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "maxAbsDiff: \(a.shape) vs \(b.shape)")
        return zip(a.scalars, b.scalars).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
    }

    /// Σ r·y in double precision (the objective of the gradient checks).
    static func dot(_ y: Tensor, _ r: Tensor) -> Double {
        zip(y.scalars, r.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Loads a fixture tensor from a reference file.
    static func tensor(_ file: SafeTensorsFile, _ name: String) throws -> Tensor {
        Tensor(shape: try file.info(name).shape, try file.floats(name))
    }
}
