import DiffuseFormats
import DiffusePipelines
import DiffuseSchedulers
import DiffuseTensor
import Foundation
import Testing

/// TAESD as the pipeline's `LatentDecoder`, on the fixture of tools/make_taesd_fixtures.py.
@Suite struct AutoencoderTinyDecoderTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/taesd")

    static func reference(_ name: String) throws -> Tensor {
        let file = try SafeTensorsFile(url: root.appendingPathComponent("reference.safetensors"))
        return Tensor(shape: try file.info(name).shape, try file.floats(name))
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
    }

    /// A fresh temporary folder holding copies of the named fixture files.
    static func folder(with files: [String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("taesd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for file in files {
            try FileManager.default.copyItem(at: root.appendingPathComponent(file), to: url.appendingPathComponent((file as NSString).lastPathComponent))
        }
        return url
    }

    static func expectOneLineError(containing parts: [String], _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected an error", sourceLocation: sourceLocation)
        } catch {
            let message = "\(error)"
            #expect(!message.contains("\n"), "\(message)", sourceLocation: sourceLocation)
            for part in parts { #expect(message.contains(part), "\(message) lacks \(part)", sourceLocation: sourceLocation) }
        }
    }

    /// Both layouts decode the UNet's samples (scaling factor 1) into diffusers' image, and the
    /// pixels are its values mapped to bytes; encoding gives diffusers' latents and draws no random numbers.
    @Test(arguments: ["diffusers", "original"])
    func decodesAndEncodesAsDiffusers(_ layout: String) throws {
        let decoder = try AutoencoderTinyDecoder.load(from: Self.root.appendingPathComponent(layout))
        #expect(decoder.scaleFactor == 8 && decoder.latentChannels == 4 && decoder.missingEncoder == nil)
        let samples = try Self.reference("decode.latents"), expected = try Self.reference("decode.output")
        let images = decoder.decode(samples)
        #expect(images.shape == [2, 3, 40, 56])
        let difference = Self.maxDifference(images, expected)
        print("[parity] TAESD component (\(layout)) decode: max abs \(difference)")
        #expect(difference < 1e-4)

        let preview = try decoder.preview(samples, index: 1)
        #expect(preview.width == 56 && preview.height == 40)
        var worst = 0
        let count = 3 * 40 * 56
        for y in 0 ..< 40 {
            for x in 0 ..< 56 {
                for c in 0 ..< 3 {
                    let v = expected.scalars[count + (c * 40 + y) * 56 + x]
                    let byte = Int((Swift.min(Swift.max(v / 2 + 0.5, 0), 1) * 255).rounded())
                    worst = Swift.max(worst, Swift.abs(byte - Int(preview.pixels[(y * 56 + x) * 3 + c])))
                }
            }
        }
        #expect(worst <= 1, "preview pixels differ from diffusers' image by \(worst)/255")

        var random: any RandomSource = TorchRandomSource(seed: 7)
        let latents = try decoder.encode(try Self.reference("encode.image"), random: &random)
        let encodeDifference = Self.maxDifference(latents, try Self.reference("encode.latents"))
        print("[parity] TAESD component (\(layout)) encode: max abs \(encodeDifference)")
        #expect(latents.shape == [1, 4, 6, 5] && encodeDifference < 1e-4)
        var fresh: any RandomSource = TorchRandomSource(seed: 7)
        let next = random.randn([4]).scalars, expectedNext = fresh.randn([4]).scalars
        #expect(next == expectedNext, "encoding drew random numbers")
    }

    @Test func decoderFileAloneDecodesAndNamesTheMissingEncoder() throws {
        let folder = try Self.folder(with: ["original/taesd_decoder.safetensors"])
        defer { try? FileManager.default.removeItem(at: folder) }
        for url in [folder, folder.appendingPathComponent("taesd_decoder.safetensors")] {
            let decoder = try AutoencoderTinyDecoder.load(from: url)
            #expect(Self.maxDifference(decoder.decode(try Self.reference("decode.latents")), try Self.reference("decode.output")) < 1e-4)
            Self.expectOneLineError(containing: [folder.appendingPathComponent("taesd_encoder.safetensors").path, "is missing"]) {
                try decoder.requireEncoder()
            }
            Self.expectOneLineError(containing: ["taesd_encoder.safetensors is missing"]) {
                _ = try decoder.encodeChecked(try Self.reference("encode.image"))
            }
        }
        // A decoder file beside its encoder takes both.
        let single = try AutoencoderTinyDecoder.load(from: Self.root.appendingPathComponent("original/taesd_decoder.safetensors"))
        #expect(single.missingEncoder == nil)
        try single.requireEncoder()
    }

    @Test func wrongLatentChannelsAreOneLineErrors() throws {
        let decoder = try AutoencoderTinyDecoder.load(from: Self.root.appendingPathComponent("diffusers"))
        let samples = Tensor.zeros([1, 16, 4, 4])
        Self.expectOneLineError(containing: ["decodes 4-channel latents, the samples have 16 channels"]) { _ = try decoder.decodeChecked(samples) }
        Self.expectOneLineError(containing: ["decodes 4-channel latents"]) { _ = try decoder.preview(samples, index: 0) }
        Self.expectOneLineError(containing: ["not [4, 4]"]) { _ = try decoder.decodeChecked(Tensor.zeros([4, 4])) }
        Self.expectOneLineError(containing: ["preview index 2 is outside 0..<1"]) { _ = try decoder.preview(Tensor.zeros([1, 4, 2, 2]), index: 2) }
        // A correct shape decodes.
        #expect(try decoder.decodeChecked(Tensor.zeros([1, 4, 2, 3])).shape == [1, 3, 16, 24])
    }

    @Test func badFoldersAreOneLineErrors() throws {
        let empty = try Self.folder(with: [])
        let configOnly = try Self.folder(with: ["diffusers/config.json"])
        let encoderOnly = try Self.folder(with: ["original/taesd_encoder.safetensors"])
        defer { for url in [empty, configOnly, encoderOnly] { try? FileManager.default.removeItem(at: url) } }
        Self.expectOneLineError(containing: [empty.path, "has neither config.json", "taesd_decoder.safetensors"]) {
            _ = try AutoencoderTinyDecoder.load(from: empty)
        }
        Self.expectOneLineError(containing: [configOnly.appendingPathComponent("diffusion_pytorch_model.safetensors").path, "is missing"]) {
            _ = try AutoencoderTinyDecoder.load(from: configOnly)
        }
        Self.expectOneLineError(containing: ["taesd_encoder.safetensors is not a TAESD decoder file"]) {
            _ = try AutoencoderTinyDecoder.load(from: encoderOnly.appendingPathComponent("taesd_encoder.safetensors"))
        }
        Self.expectOneLineError(containing: ["/no/such/taesd does not exist"]) {
            _ = try AutoencoderTinyDecoder.load(from: URL(fileURLWithPath: "/no/such/taesd"))
        }
        // The encoder file named as a decoder: its keys do not describe a decoder.
        let renamed = encoderOnly.appendingPathComponent("wrong_decoder.safetensors")
        try FileManager.default.copyItem(at: encoderOnly.appendingPathComponent("taesd_encoder.safetensors"), to: renamed)
        Self.expectOneLineError(containing: ["wrong_decoder.safetensors", "1.weight"]) { _ = try AutoencoderTinyDecoder.load(from: renamed) }
    }
}
