import DiffuseFormats
import DiffusePipelines
import Foundation
import Testing

/// A pipeline with TAESD in place of its VAE (`diffuse generate --vae`), against diffusers with
/// `pipe.vae = AutoencoderTiny` (tools/make_few_step_fixtures.py), and the errors of a wrong one.
@Suite(.serialized) struct TinyAutoencoderPipelineTests {
    static let fixtures = PipelineParityTests.root.deletingLastPathComponent()
    static let reference = PipelineParityTests.root.appendingPathComponent("turbo/reference")

    struct Cases: Decodable { var cases: [PipelineParityTests.Case] }

    static func cases() throws -> [PipelineParityTests.Case] {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: reference.appendingPathComponent("taesd.json"))).cases
    }

    static func pipeline(taesd layout: String) throws -> DiffusionPipeline {
        let pipeline = try DiffusionPipeline.load(folder: PipelineParityTests.root.appendingPathComponent("turbo"))
        let path = fixtures.appendingPathComponent("taesd/\(layout)")
        try pipeline.replaceDecoder(LatentDecoders.load(from: path), source: path.path)
        return pipeline
    }

    @Test(arguments: ["diffusers", "original"])
    func matchesDiffusersWithAutoencoderTiny(_ layout: String) throws {
        let pipeline = try Self.pipeline(taesd: layout)
        #expect(pipeline.decoder is AutoencoderTinyDecoder)
        let cases = try Self.cases()
        #expect(cases.count == 3)
        for c in cases {
            let image = try #require(try pipeline.generate(PipelineParityTests.request(c, reference: Self.reference)).first)
            let expected = try PNGImage(contentsOf: Self.reference.appendingPathComponent(c.outputs[0]))
            let diff = try PipelineParityTests.maxDifference(image, expected)
            print("[parity] TAESD (\(layout)) \(c.name): max channel difference \(diff)/255")
            #expect(diff <= 3, "\(c.name) with the \(layout) TAESD differs by \(diff)/255")
        }
    }

    @Test func wrongAutoencodersAreRefusedByName() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-taesd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        // A decoder without its encoder decodes, but image-to-image says which file is missing.
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("taesd/original/taesd_decoder.safetensors"),
                                         to: work.appendingPathComponent("taesd_decoder.safetensors"))
        let pipeline = try DiffusionPipeline.load(folder: PipelineParityTests.root.appendingPathComponent("turbo"))
        try pipeline.replaceDecoder(LatentDecoders.load(from: work), source: work.path)
        let img2img = try #require(try Self.cases().first { $0.pipeline == "img2img" })
        #expect { _ = try pipeline.generate(PipelineParityTests.request(img2img, reference: Self.reference)) } throws: {
            "\($0)".contains("taesd_encoder.safetensors")
        }
        // Not an autoencoder class.
        let unet = PipelineParityTests.root.appendingPathComponent("sd1/unet")
        #expect { _ = try LatentDecoders.load(from: unet) } throws: { "\($0)".contains("UNet2DConditionModel") }
        // A pixel model has no autoencoder to replace.
        let pixel = DiffusionPipeline(textEncoder: pipeline.textEncoder, unet: pipeline.unet, vae: nil, schedulerConfig: pipeline.schedulerConfig, name: "pixels")
        #expect { try pixel.replaceDecoder(LatentDecoders.load(from: work), source: "taesd") } throws: { "\($0)".contains("pixel-space") }
    }
}
