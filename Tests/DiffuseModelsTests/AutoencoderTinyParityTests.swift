import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// The small random `AutoencoderTiny` of tools/make_taesd_fixtures.py, in diffusers' layout and in
/// TAESD's own, against diffusers' recorded decode and encode.
@Suite struct AutoencoderTinyParityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/taesd")
    static let diffusersFolder = root.appendingPathComponent("diffusers")
    static let originalDecoder = root.appendingPathComponent("original/taesd_decoder.safetensors")
    static let originalEncoder = root.appendingPathComponent("original/taesd_encoder.safetensors")

    static func reference(_ name: String) throws -> Tensor {
        let file = try SafeTensorsFile(url: root.appendingPathComponent("reference.safetensors"))
        return Tensor(shape: try file.info(name).shape, try file.floats(name))
    }

    static func checkParity(_ model: AutoencoderTiny, _ label: String) throws {
        for algorithm in [OneDNNConvolution.Algorithm.direct, .winograd] {
            model.convolutionAlgorithm = algorithm
            ComponentParityTests.expectMatch(model.decode(try reference("decode.latents")), try reference("decode.output"),
                                             "TAESD \(label) decode (\(algorithm))", tolerance: 1e-5)
            ComponentParityTests.expectMatch(model.encode(try reference("encode.image")), try reference("encode.latents"),
                                             "TAESD \(label) encode (\(algorithm))", tolerance: 1e-5)
        }
    }

    @Test func diffusersLayoutMatchesDiffusers() throws {
        let model = try AutoencoderTiny.load(diffusersFolder: Self.diffusersFolder)
        #expect(model.config.encoderBlockOutChannels == [8, 8, 8, 8] && model.config.numDecoderBlocks == [2, 2, 2, 1])
        #expect(model.config.upscaleFactor == 8 && model.config.downscaleFactor == 8)
        try Self.checkParity(model, "diffusers layout")
        model.packConvolutionWeights()
        try Self.checkParity(model, "diffusers layout, packed weights")
    }

    @Test func originalLayoutMatchesDiffusers() throws {
        let model = try AutoencoderTiny.load(originalDecoder: Self.originalDecoder, encoder: Self.originalEncoder)
        let diffusers = try AutoencoderTinyConfig(ModelConfig(contentsOf: Self.diffusersFolder.appendingPathComponent("config.json")))
        // The architecture read from the key names is the one config.json describes.
        #expect(model.config == diffusers)
        try Self.checkParity(model, "original layout")
    }

    @Test func decoderOnlyOriginalFileDecodes() throws {
        let model = try AutoencoderTiny.load(originalDecoder: Self.originalDecoder, encoder: nil)
        #expect(model.config.latentChannels == 4 && model.config.decoderBlockOutChannels == [16, 16, 16, 16])
        ComponentParityTests.expectMatch(model.decode(try Self.reference("decode.latents")), try Self.reference("decode.output"),
                                         "TAESD decoder file alone", tolerance: 1e-5)
    }

    @Test func originalKeysAreDiffusersKeysShiftedInTheDecoder() {
        #expect(TAESDCheckpointKeys.originalName(of: "layers.0.weight", in: .encoder) == "0.weight")
        #expect(TAESDCheckpointKeys.originalName(of: "layers.12.conv.4.bias", in: .encoder) == "12.conv.4.bias")
        #expect(TAESDCheckpointKeys.originalName(of: "layers.0.weight", in: .decoder) == "1.weight")
        #expect(TAESDCheckpointKeys.originalName(of: "layers.2.conv.0.weight", in: .decoder) == "3.conv.0.weight")
        #expect(TAESDCheckpointKeys.originalName(of: "conv.weight", in: .decoder) == nil)
        // At TAESD's size, the decoder's keys are those of madebyollin/taesd's Decoder() (checked
        // against taesd.py by tools/make_taesd_fixtures.py --taesd-py): clamp, conv, ReLU, 3 blocks, upsample, conv, …
        let keys = Set(DecoderTiny(AutoencoderTinyConfig()).namedParameters().compactMap { TAESDCheckpointKeys.originalName(of: $0.key, in: .decoder) })
        #expect(keys.count == 67)
        for key in ["1.weight", "1.bias", "3.conv.0.weight", "5.conv.4.bias", "7.weight", "12.weight", "17.weight", "18.conv.2.weight", "19.weight", "19.bias"] {
            #expect(keys.contains(key), "\(key)")
        }
        for key in ["0.weight", "2.weight", "6.weight", "7.bias", "11.weight", "17.bias"] { #expect(!keys.contains(key), "\(key)") }
        let encoderKeys = Set(EncoderTiny(AutoencoderTinyConfig()).namedParameters().compactMap { TAESDCheckpointKeys.originalName(of: $0.key, in: .encoder) })
        #expect(encoderKeys.count == 67 && encoderKeys.contains("2.weight") && !encoderKeys.contains("2.bias") && encoderKeys.contains("14.bias"))
    }

    /// The TAESD file's own key names are reported, whatever is wrong (a mis-shaped tensor's in parentheses).
    @Test func originalLayoutLoadsStrictly() throws {
        let weights = try SafeTensorsWeights(Self.originalDecoder)
        var tensors: [String: Tensor] = [:]
        for name in weights.tensorNames { tensors[name] = try weights.tensor(named: name) }
        tensors.removeValue(forKey: "3.conv.2.weight")
        tensors["4.conv.0.bias"] = Tensor.zeros([5])
        tensors["0.scale"] = Tensor.zeros([1])
        let model = AutoencoderTiny(config: try AutoencoderTinyConfig(taesdDecoder: weights, encoder: nil))
        do {
            try TAESDCheckpointKeys.load(model.decoder, half: .decoder, from: TensorDictionary(name: "edited_decoder.safetensors", tensors))
            Issue.record("an edited decoder file should not load")
        } catch let error as WeightLoadingError {
            #expect(error.missing == ["3.conv.2.weight"])
            #expect(error.mismatched == ["layers.3.conv.0.bias is [5] in edited_decoder.safetensors (4.conv.0.bias), expected [16]"])
            #expect(error.unexpected == ["0.scale"])
            #expect(error.description.hasPrefix("edited_decoder.safetensors: missing 1 tensor(s): 3.conv.2.weight") && !error.description.contains("\n"))
        }
    }

    @Test func diffusersLayoutLoadsStrictly() throws {
        let weights = try SafeTensorsWeights(Self.diffusersFolder.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in weights.tensorNames { tensors[name] = try weights.tensor(named: name) }
        tensors.removeValue(forKey: "decoder.layers.0.bias")
        tensors["decoder.layers.1.weight"] = Tensor.zeros([1])
        let model = AutoencoderTiny(config: try AutoencoderTinyConfig(ModelConfig(contentsOf: Self.diffusersFolder.appendingPathComponent("config.json"))))
        #expect(throws: WeightLoadingError.self) { try model.load(from: TensorDictionary(name: "edited", tensors)) }
        do { try model.load(from: TensorDictionary(name: "edited", tensors)) } catch let error as WeightLoadingError {
            #expect(error.missing == ["decoder.layers.0.bias"] && error.unexpected == ["decoder.layers.1.weight"])
        }
    }

    @Test func configDefaultsAreDiffusers() throws {
        let config = try AutoencoderTinyConfig(ModelConfig(values: [:], source: "config.json"))
        #expect(config == AutoencoderTinyConfig())
        #expect(config.encoderBlockOutChannels == [64, 64, 64, 64] && config.decoderBlockOutChannels == [64, 64, 64, 64])
        #expect(config.numEncoderBlocks == [1, 3, 3, 3] && config.numDecoderBlocks == [3, 3, 3, 1])
        #expect(config.latentChannels == 4 && config.upsamplingScalingFactor == 2 && config.activation == .relu)
        #expect(config.scalingFactor == 1 && config.shiftFactor == 0 && config.latentMagnitude == 3 && config.latentShift == 0.5 && !config.forceUpcast)
        #expect(config.upscaleFactor == 8)
        // ~1.2 M parameters per half at TAESD's size.
        let model = AutoencoderTiny(config: config)
        #expect(model.decoder.parameterCount == 1_222_531 && model.encoder.parameterCount == 1_222_532)
    }

    @Test(arguments: [
        (#"{"act_fn": "mish"}"#, #""act_fn" is mish"#),
        (#"{"upsample_fn": "bilinear"}"#, #""upsample_fn" is bilinear"#),
        (#"{"num_decoder_blocks": [3, 3, 1]}"#, #""num_decoder_blocks" has 3 entries for 4 decoder_block_out_channels"#),
        (#"{"encoder_block_out_channels": [32, 64, 64, 64]}"#, #""encoder_block_out_channels" is [32, 64, 64, 64]"#),
        (#"{"_class_name": "AutoencoderKL"}"#, #""_class_name" is AutoencoderKL, expected AutoencoderTiny"#),
        (#"{"latent_channels": "four"}"#, #""latent_channels" should be an integer"#),
        (#"{"scaling_factor": [1]}"#, #""scaling_factor" should be a number"#),
        (#"{"latent_channels": 0}"#, #""latent_channels" is 0, must be at least 1"#),
    ])
    func badConfigIsOneLineNamingFileAndKey(_ json: String, _ expected: String) {
        do {
            _ = try AutoencoderTinyConfig(ModelConfig(data: Data(json.utf8), source: "taesd/config.json"))
            Issue.record("\(json) should be refused")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix("taesd/config.json: \(expected)"), "\(message)")
            #expect(!message.contains("\n"))
        }
    }

    @Test func latentScalingIsDiffusers() {
        let model = AutoencoderTiny(config: AutoencoderTinyConfig())
        let scaled = model.scaleLatents(Tensor(shape: [4], [-6, 0, 1.5, 4]))
        #expect(scaled.scalars == [0, 0.5, 0.75, 1])
        #expect(model.unscaleLatents(Tensor(shape: [2], [0, 0.75])).scalars == [-3, 1.5])
    }
}
