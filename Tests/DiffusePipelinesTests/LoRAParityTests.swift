import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffusePipelines
import DiffuseTensor
import Foundation
import Testing

/// LoRA files on the tiny SD 1.x fixture against what diffusers makes with them
/// (tools/make_lora_fixtures.py): kohya and PEFT files through diffusers' `load_lora_weights` +
/// `set_adapters`, alone and together; LDM-named, LoCon, LoHa, LoKr and attention-processor files
/// against the same weights merged by the fixture script. Also: restoring is bit-exact (float32,
/// float16 and packed weights), concurrent generations with different LoRAs each get their own.
@Suite(.serialized) struct LoRAParityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let folder = root.appendingPathComponent("lora")
    static let reference = folder.appendingPathComponent("reference")

    struct Request: Decodable {
        var prompt: String, negative_prompt: String, sampler: String, steps: Int, guidance: Float, seed: UInt64, width: Int, height: Int
    }
    struct Case: Decodable { var name: String, files: [String], scales: [Float], image: String, weights: String }
    struct Cases: Decodable { var request: Request, cases: [Case] }

    static let cases: Cases = {
        let data = try! Data(contentsOf: reference.appendingPathComponent("cases.json"))
        return try! JSONDecoder().decode(Cases.self, from: data)
    }()

    static func load(_ precision: WeightPrecision = .float32) throws -> DiffusionPipeline {
        try DiffusionPipeline.load(folder: root.appendingPathComponent("sd/sd1"), weights: precision)
    }

    /// The fixture's text-to-image request (as `PipelineParityTests` builds its cases) with `loras`.
    static func request(_ loras: [LoRAApplication] = []) -> GenerationRequest {
        let r = cases.request
        let c = PipelineParityTests.Case(name: "lora", pipeline: "txt2img", prompt: r.prompt, negative_prompt: r.negative_prompt,
                                         sampler: r.sampler, steps: r.steps, guidance: r.guidance, eta: nil, seed: r.seed,
                                         width: r.width, height: r.height, count: 1, init_image: nil, strength: nil, mask: nil, outputs: [])
        var request = try! PipelineParityTests.request(c, reference: reference)
        request.loras = loras
        return request
    }

    static func applications(_ c: Case, on pipeline: DiffusionPipeline) throws -> [LoRAApplication] {
        try zip(c.files, c.scales).map { file, scale in
            LoRAApplication(try pipeline.loadLoRA(folder.appendingPathComponent(file + ".safetensors")), multiplier: scale)
        }
    }

    static func image(_ name: String) throws -> PNGImage { try PNGImage(contentsOf: reference.appendingPathComponent(name)) }

    /// Every parameter's value, by key (for bit-exact comparisons).
    static func snapshot(_ pipeline: DiffusionPipeline) -> [String: [Float]] {
        var values: [String: [Float]] = [:]
        for (key, parameter) in pipeline.unet.namedParameters(prefix: "unet/") { values[key] = parameter.value.scalars }
        if let clip = (pipeline.textEncoder as? CLIPPromptEncoder)?.model {
            for (key, parameter) in clip.namedParameters(prefix: "text_encoder/") { values[key] = parameter.value.scalars }
        }
        return values
    }

    @Test(arguments: cases.cases.map(\.name))
    func imageMatchesTheReference(_ name: String) throws {
        let c = Self.cases.cases.first { $0.name == name }!
        let pipeline = try Self.load()
        let image = try pipeline.generate(Self.request(Self.applications(c, on: pipeline)))[0]
        let diff = try PipelineParityTests.maxDifference(image, Self.image(c.image))
        let fromBase = try PipelineParityTests.maxDifference(image, Self.image("base.png"))
        print("[lora parity] \(name): max channel difference \(diff)/255 (the LoRA moves the image by \(fromBase)/255)")
        #expect(diff <= 1, "\(name): differs by \(diff)/255")
        #expect(fromBase >= 5, "\(name): the LoRA barely changed the image (\(fromBase)/255)")
    }

    @Test(arguments: cases.cases.map(\.name))
    func mergedWeightsMatchTheReference(_ name: String) throws {
        let c = Self.cases.cases.first { $0.name == name }!
        let pipeline = try Self.load()
        let expected = try SafeTensorsWeights(Self.reference.appendingPathComponent(c.weights))
        let merged = try MergedLoRAs(Self.applications(c, on: pipeline))
        #expect(merged.changedParameterCount == expected.tensorNames.count)
        let clip = (pipeline.textEncoder as! CLIPPromptEncoder).model
        let parameters = Dictionary(uniqueKeysWithValues: pipeline.unet.namedParameters(prefix: "unet/").map { ($0.key, $0.parameter) }
            + clip.namedParameters(prefix: "text_encoder/").map { ($0.key, $0.parameter) })
        var worst: Float = 0
        for key in expected.tensorNames {
            let want = try expected.tensor(named: key).scalars
            let got = try #require(parameters[key], "no parameter \(key)").value.scalars
            worst = max(worst, zip(got, want).map { abs($0 - $1) }.max() ?? 0)
        }
        print("[lora parity] \(name): merged weights max abs difference \(worst)")
        #expect(worst <= 2e-6)
        merged.restore()
    }

    /// Generate, merge, generate, restore: the weights and the image are the model's own again, bit
    /// for bit — with float32, float16 and packed (already-run) weights.
    @Test(arguments: [WeightPrecision.float32, .float16])
    func restoringIsExact(_ precision: WeightPrecision) throws {
        let pipeline = try Self.load(precision)
        let before = try pipeline.generate(Self.request())[0]   // packs the weights it runs
        let original = Self.snapshot(pipeline)
        let c = Self.cases.cases.first { $0.name == "kohya_peft" }!
        let withLoRA = try pipeline.generate(Self.request(Self.applications(c, on: pipeline)))[0]
        #expect(try PipelineParityTests.maxDifference(withLoRA, before) >= 5)
        #expect(pipeline.mergedLoRAs.count == 2)
        let after = try pipeline.generate(Self.request())[0]
        #expect(pipeline.mergedLoRAs.isEmpty)
        #expect(after.pixels == before.pixels)
        let restored = Self.snapshot(pipeline)
        #expect(restored.keys == original.keys)
        let changed = original.keys.filter { restored[$0]! != original[$0]! }
        #expect(changed.isEmpty, "not restored exactly: \(changed.prefix(3))")
        // Merged after the weights were packed by the first run: still diffusers' image.
        let diff = try PipelineParityTests.maxDifference(withLoRA, Self.image("kohya_peft.png"))
        print("[lora parity] kohya_peft on \(precision.rawValue) weights packed by an earlier run: max channel difference \(diff)/255")
        #expect(diff <= 1)
        if precision == .float16 {
            #expect(pipeline.unet.namedParameters().allSatisfy { $0.parameter.shape.count < 2 || $0.parameter.isFloat16 })
        }
    }

    /// Generations on one pipeline from several threads, each with its own LoRAs (or none): each
    /// gets the image of its own LoRAs.
    @Test func concurrentGenerationsSeeOnlyTheirOwnLoRAs() throws {
        let pipeline = try Self.load()
        let names = ["kohya", "base", "peft", "kohya_peft", "base", "kohya"]
        let requests = try names.map { name -> GenerationRequest in
            guard let c = Self.cases.cases.first(where: { $0.name == name }) else { return Self.request() }
            return Self.request(try Self.applications(c, on: pipeline))
        }
        let results = ResultBox(count: names.count)
        DispatchQueue.concurrentPerform(iterations: names.count) { i in
            results.set(i, Result { try pipeline.generate(requests[i])[0] })
        }
        for (i, name) in names.enumerated() {
            let image = try results.get(i).get()
            let diff = try PipelineParityTests.maxDifference(image, Self.image(name + ".png"))
            print("[lora parity] concurrent \(i) \(name): max channel difference \(diff)/255")
            #expect(diff <= 1, "\(i) \(name): \(diff)/255")
        }
    }

    final class ResultBox: @unchecked Sendable {
        private var values: [Result<PNGImage, any Error>?]
        private let lock = NSLock()
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ value: Result<PNGImage, any Error>) { lock.lock(); values[i] = value; lock.unlock() }
        func get(_ i: Int) -> Result<PNGImage, any Error> { lock.lock(); defer { lock.unlock() }; return values[i]! }
    }

    @Test func aLoRAReadForAnotherPipelineIsRefused() throws {
        let (a, b) = (try Self.load(), try Self.load())
        let lora = try a.loadLoRA(Self.folder.appendingPathComponent("kohya.safetensors"))
        #expect(throws: PipelineError.self) { try b.generate(Self.request([LoRAApplication(lora)])) }
        var request = Self.request([LoRAApplication(lora, multiplier: .nan)])
        request.count = 1
        do {
            _ = try a.generate(request)
            Issue.record("a NaN multiplier was accepted")
        } catch let error as PipelineError {
            #expect(error.parameter == .loras && error.description.contains("not a finite number"), "\(error)")
        }
    }
}
