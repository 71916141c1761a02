import DiffuseFormats
import DiffuseNN
import Foundation

extension AutoencoderTiny {
    /// The weights file of a diffusers `AutoencoderTiny` folder.
    public static let diffusersWeightsFile = "diffusion_pytorch_model.safetensors"
    /// TAESD's own file names (madebyollin/taesd; taesdxl's are `taesdxl_…`).
    public static let originalDecoderSuffix = "_decoder.safetensors"
    public static let originalEncoderSuffix = "_encoder.safetensors"

    /// A diffusers folder (`config.json` + `diffusion_pytorch_model.safetensors`, as madebyollin/taesd
    /// and taesdxl publish), loaded strictly.
    /// - Throws: `ModelConfigError` naming the config file and key, or `WeightLoadingError` naming
    ///   missing, mis-shaped or unexpected tensors.
    public static func load(diffusersFolder folder: URL, precision: WeightPrecision = .float32) throws -> AutoencoderTiny {
        let config = try AutoencoderTinyConfig(ModelConfig(contentsOf: folder.appendingPathComponent("config.json")))
        let weightsURL = folder.appendingPathComponent(diffusersWeightsFile)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw ModelConfigError(source: weightsURL.path, key: nil, problem: "is missing (an AutoencoderTiny folder has config.json and \(diffusersWeightsFile))")
        }
        let model = AutoencoderTiny(config: config)
        try model.load(from: SafeTensorsWeights(weightsURL), precision: precision)
        return model
    }

    /// TAESD's own files: `taesd_decoder.safetensors` and optionally `taesd_encoder.safetensors`.
    /// The architecture (widths, blocks per stage, latent and image channels) is read from the
    /// files' key names and shapes; without an encoder file the encoder keeps unloaded (zero) weights.
    /// - Throws: `ModelConfigError` when a file is not laid out as a TAESD `nn.Sequential`,
    ///   `WeightLoadingError` naming missing, mis-shaped or unexpected TAESD keys.
    public static func load(originalDecoder decoderURL: URL, encoder encoderURL: URL?,
                            precision: WeightPrecision = .float32) throws -> AutoencoderTiny {
        let decoderWeights = try SafeTensorsWeights(decoderURL)
        let encoderWeights = try encoderURL.map { try SafeTensorsWeights($0) }
        let config = try AutoencoderTinyConfig(taesdDecoder: decoderWeights, encoder: encoderWeights)
        let model = AutoencoderTiny(config: config)
        try TAESDCheckpointKeys.load(model.decoder, half: .decoder, from: decoderWeights, precision: precision)
        if let encoderWeights {
            try TAESDCheckpointKeys.load(model.encoder, half: .encoder, from: encoderWeights, precision: precision)
        }
        return model
    }
}

extension AutoencoderTinyConfig {
    /// The configuration TAESD's files describe: the decoder's `1.weight` gives the width and the
    /// latent channels, runs of `<i>.conv.0.weight` the blocks per stage, parameter-free indices
    /// the upsamplings, the last convolution the image channels; the encoder likewise (its
    /// stages start with stride-2 convolutions without bias; the last convolution has one).
    /// Without an encoder the encoder takes diffusers' defaults at the decoder's widths.
    public init(taesdDecoder decoder: WeightSource, encoder: WeightSource?) throws {
        self.init()
        let d = SequentialKeys(decoder)
        guard let first = decoder.shape(of: "1.weight"), first.count == 4 else {
            throw ModelConfigError(source: decoder.name, key: "1.weight", problem: "is missing or not a convolution: not a TAESD decoder (diffusers folders have config.json)")
        }
        let width = first[0]
        latentChannels = first[1]
        var i = 3
        var stages: [Int] = []
        while true {
            var blocks = 0
            while d.hasBlock(at: i) { blocks += 1; i += 1 }
            stages.append(blocks)
            if d.hasParameters(at: i) {
                // The last convolution, to the image's channels.
                guard let last = decoder.shape(of: "\(i).weight"), last.count == 4 else {
                    throw ModelConfigError(source: decoder.name, key: "\(i).weight", problem: "is missing: index \(i) should be the decoder's last convolution")
                }
                outChannels = last[0]
                break
            }
            // A parameter-free upsampling at i, then the stage's convolution at i + 1.
            guard d.hasParameters(at: i + 1), stages.count < 32 else {
                throw ModelConfigError(source: decoder.name, key: "\(i + 1).weight", problem: "is missing: expected a convolution after the upsampling at index \(i)")
            }
            i += 2
        }
        decoderBlockOutChannels = Array(repeating: width, count: stages.count)
        numDecoderBlocks = stages
        encoderBlockOutChannels = Array(repeating: width, count: encoderBlockOutChannels.count)
        guard let encoder else {
            try validate(source: decoder.name)
            return
        }

        let e = SequentialKeys(encoder)
        guard let conv0 = encoder.shape(of: "0.weight"), conv0.count == 4 else {
            throw ModelConfigError(source: encoder.name, key: "0.weight", problem: "is missing or not a convolution: not a TAESD encoder")
        }
        inChannels = conv0[1]
        i = 1
        stages = []
        while true {
            var blocks = 0
            while e.hasBlock(at: i) { blocks += 1; i += 1 }
            stages.append(blocks)
            guard let conv = encoder.shape(of: "\(i).weight"), conv.count == 4, stages.count < 32 else {
                throw ModelConfigError(source: encoder.name, key: "\(i).weight", problem: "is missing: expected a convolution at index \(i)")
            }
            i += 1
            if encoder.shape(of: "\(i - 1).bias") != nil {
                // The last convolution (with bias), to the latent channels.
                guard conv[0] == latentChannels else {
                    throw ModelConfigError(source: encoder.name, key: "\(i - 1).weight", problem: "gives \(conv[0]) latent channels, the decoder takes \(latentChannels)")
                }
                break
            }
        }
        encoderBlockOutChannels = Array(repeating: conv0[0], count: stages.count)
        numEncoderBlocks = stages
        try validate(source: encoder.name)
    }
}

/// Which top-level indices of a TAESD `nn.Sequential` file hold parameters.
private struct SequentialKeys {
    let indices: Set<Int>
    let blocks: Set<Int>

    init(_ source: WeightSource) {
        var indices = Set<Int>(), blocks = Set<Int>()
        for name in source.tensorNames {
            guard let dot = name.firstIndex(of: "."), let i = Int(name[..<dot]) else { continue }
            indices.insert(i)
            if name.hasSuffix(".conv.0.weight"), name == "\(i).conv.0.weight" { blocks.insert(i) }
        }
        self.indices = indices
        self.blocks = blocks
    }

    func hasParameters(at i: Int) -> Bool { indices.contains(i) }
    func hasBlock(at i: Int) -> Bool { blocks.contains(i) }
}
