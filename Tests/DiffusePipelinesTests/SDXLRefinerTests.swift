import DiffuseFormats
import DiffusePipelines
import Foundation
import Testing

/// Base + refiner against diffusers (tools/make_sdxl_fixtures.py): `StableDiffusionXLPipeline`
/// with `denoising_end`, then `StableDiffusionXLImg2ImgPipeline` (requires_aesthetics_score, one
/// OpenCLIP encoder, 5 time ids) with `denoising_start` on its latents, one generator for both.
@Suite(.serialized) struct SDXLRefinerTests {
    static let root = SDXLPipelineParityTests.root

    struct Case: Decodable {
        var name: String
        var refiner_start: Double
        var outputs: [String]
    }

    struct Cases: Decodable { var cases: [Case] }

    static let names: [String] = {
        let url = root.appendingPathComponent("refiner/reference/pipelines.json")
        return ((try? JSONDecoder().decode(Cases.self, from: Data(contentsOf: url)))?.cases ?? []).map(\.name)
    }()

    @Test func fixtureCasesArePresent() {
        #expect(Self.names == ["refine_euler_08", "refine_euler_a_07_count2", "refine_heun_075"])
    }

    @Test(arguments: names)
    func baseThenRefinerMatchesDiffusers(_ name: String) throws {
        let reference = Self.root.appendingPathComponent("refiner/reference")
        let data = try Data(contentsOf: reference.appendingPathComponent("pipelines.json"))
        let c = try #require(try JSONDecoder().decode(Cases.self, from: data).cases.first { $0.name == name })
        let full = try #require(try JSONDecoder().decode(SDXLPipelineParityTests.Cases.self, from: data).cases.first { $0.name == name })
        let base = try SDXLPipelineParityTests.model("base")
        let refiner = try DiffusionPipeline.load(folder: Self.root.appendingPathComponent("refiner"))
        #expect(refiner.isRefiner && (refiner.textEncoder as? SDXLPromptEncoder)?.first == nil)
        let images = try base.generate(try SDXLPipelineParityTests.request(full, reference: reference), refiner: refiner,
                                       refinerStart: c.refiner_start)
        #expect(images.count == c.outputs.count)
        for (image, file) in zip(images, c.outputs) {
            let diff = try PipelineParityTests.maxDifference(image, try PNGImage(contentsOf: reference.appendingPathComponent(file)))
            print("[parity] sdxl base + refiner \(name) \(file): max channel difference \(diff)/255")
            #expect(diff <= 1, "\(name) \(file): differs by \(diff)/255")
        }
    }

    @Test func aFolderThatIsNotARefinerIsRefused() throws {
        let base = try SDXLPipelineParityTests.model("base")
        var request = GenerationRequest(prompt: "x")
        request.width = 48; request.height = 32; request.steps = 2
        #expect { try base.generate(request, refiner: base, refinerStart: 0.8) } throws: {
            ($0 as? PipelineError)?.parameter == .refiner && "\($0)".contains("not an SDXL refiner")
        }
        let refiner = try DiffusionPipeline.load(folder: Self.root.appendingPathComponent("refiner"))
        #expect { try base.generate(request, refiner: refiner, refinerStart: 1.2) } throws: {
            ($0 as? PipelineError)?.parameter == .refinerStart
        }
    }
}
