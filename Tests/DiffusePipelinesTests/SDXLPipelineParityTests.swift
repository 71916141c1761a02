import DiffuseFormats
import DiffuseNN
import DiffusePipelines
import DiffuseSchedulers
import Foundation
import Testing

/// Whole SDXL pipelines against the PNGs diffusers produced (tools/make_sdxl_fixtures.py): tiny
/// random folders with two text encoders and a "text_time" UNet — several samplers, a negative
/// prompt and the zeroed empty one, no guidance, size / crop micro-conditioning at a non-square
/// size, a batch, img2img, inpainting with 4- and 9-channel UNets, and the Turbo folder's own
/// trailing Euler a at guidance 0. Every output within 1/255 of diffusers' PNG.
@Suite(.serialized) struct SDXLPipelineParityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sdxl")

    /// The fixture cases: the same file format as the SD 1.x/2.x ones (`PipelineParityTests.Case`,
    /// with the micro-conditioning fields set).
    typealias Case = PipelineParityTests.Case
    typealias Cases = PipelineParityTests.Cases

    static func cases(_ model: String) throws -> [Case] { try PipelineParityTests.cases(model, in: root) }

    static func model(_ name: String) throws -> DiffusionPipeline { try PipelineParityTests.model(name, in: root) }

    static func request(_ c: Case, reference: URL) throws -> GenerationRequest {
        try PipelineParityTests.request(c, reference: reference)
    }

    static let all: [(String, String)] = {
        var list: [(String, String)] = []
        for model in ["base", "turbo", "inpaint"] {
            for c in (try? cases(model)) ?? [] { list.append((model, c.name)) }
        }
        return list
    }()

    @Test(arguments: all)
    func matchesDiffusers(_ entry: (String, String)) throws {
        let (modelName, caseName) = entry
        let c = try #require(try Self.cases(modelName).first { $0.name == caseName })
        let reference = Self.root.appendingPathComponent("\(modelName)/reference")
        let images = try Self.model(modelName).generate(try Self.request(c, reference: reference))
        #expect(images.count == c.outputs.count)
        for (image, file) in zip(images, c.outputs) {
            let expected = try PNGImage(contentsOf: reference.appendingPathComponent(file))
            let diff = try PipelineParityTests.maxDifference(image, expected)
            print("[parity] sdxl \(modelName)/\(caseName) \(file): max channel difference \(diff)/255")
            #expect(diff <= 1, "sdxl \(modelName)/\(caseName) \(file): differs by \(diff)/255")
        }
    }

    @Test func fixtureCasesArePresent() throws {
        #expect(Self.all.count >= 14)
        let base = try Self.cases("base")
        #expect(Set(base.compactMap(\.sampler)).isSuperset(of: ["euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "ddim", "unipc"]))
        #expect(Set(base.map(\.pipeline)) == ["txt2img", "img2img", "inpaint"])
    }

    @Test func foldersLoadAsSDXL() throws {
        let base = try Self.model("base")
        #expect(base.microConditioning == .sizes)
        let encoder = try #require(base.textEncoder as? SDXLPromptEncoder)
        #expect(encoder.dimension == 40 && encoder.textEmbedsDimension == 12 && encoder.forceZerosForEmptyPrompt)
        #expect(encoder.tokenizer2.padTokenID == 0 && encoder.first?.tokenizer.padTokenID == 49407)
        #expect(try Self.model("inpaint").unet.inputChannels == 9)
        // diffusers' default guidance_scale per pipeline class.
        let inpaint = try Self.model("inpaint")
        #expect(base.guidance(nil) == 5 && inpaint.guidance(nil) == 7.5)
    }

    /// The time ids diffusers' `_get_add_time_ids` builds: (h, w) sizes, (top, left) crop.
    @Test func timeIDsFollowDiffusersOrder() throws {
        var r = GenerationRequest(prompt: "x")
        let plain = MicroConditioning.sizes.timeIDs(r, width: 48, height: 32)
        #expect(plain.conditional.scalars == [32, 48, 0, 0, 32, 48] && plain.unconditional.scalars == plain.conditional.scalars)
        r.originalSize = DiffusersFolder.Size(width: 96, height: 64)
        r.crop = ImageCrop(top: 8, left: 4)
        r.targetSize = DiffusersFolder.Size(width: 40, height: 72)
        #expect(MicroConditioning.sizes.timeIDs(r, width: 48, height: 32).conditional.scalars == [64, 96, 8, 4, 72, 40])
        let refiner = MicroConditioning.aestheticScore.timeIDs(r, width: 48, height: 32)
        #expect(refiner.conditional.scalars == [64, 96, 8, 4, 6] && refiner.unconditional.scalars == [64, 96, 8, 4, 2.5])
    }

    @Test func badMicroConditioningIsRejectedByName() throws {
        let model = try Self.model("base")
        var r = GenerationRequest(prompt: "x")
        r.width = 48; r.height = 32; r.steps = 1
        r.originalSize = DiffusersFolder.Size(width: 0, height: 64)
        #expect { try model.generate(r) } throws: { ($0 as? PipelineError)?.parameter == .originalSize }
        r.originalSize = nil
        r.crop = ImageCrop(top: -1, left: 0)
        #expect { try model.generate(r) } throws: { ($0 as? PipelineError)?.parameter == .crop }
        r.crop = nil
        r.width = 44
        #expect { try model.generate(r) } throws: { ($0 as? PipelineError)?.parameter == .width }
    }
}
