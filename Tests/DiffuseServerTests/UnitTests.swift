import DiffuseFormats
import DiffusePipelines
import DiffuseSchedulers
import DiffuseServer
import DiffuseTensor
import Foundation
import XCTest

/// The server's building blocks, without HTTP.
final class UnitTests: XCTestCase {
    /// An image drawn from a matched training caption says so in its infotext; others do not.
    func testInfotextRecordsTheMatchedCaption() throws {
        var parameters = GenerationParameters(prompt: "a kitty", width: 32, height: 32)
        parameters.seed = 7
        let matched = try XCTUnwrap(Infotext.parse(parameters.infotext(seed: 7, samplerName: "DPM++ 2M", model: "emoji",
                                                                        matchedCaption: "cat face: happy, grinning").render()))
        XCTAssertEqual(matched.prompt, "a kitty")
        XCTAssertEqual(matched.extra.map(\.key), ["Matched caption"])
        XCTAssertEqual(matched.extra.map(\.value), ["cat face: happy, grinning"])
        let plain = try XCTUnwrap(Infotext.parse(parameters.infotext(seed: 7, samplerName: "DPM++ 2M", model: "emoji").render()))
        XCTAssertTrue(plain.extra.isEmpty)
        XCTAssertEqual(plain.seed, 7)
    }

    func testJSONRoundTripKeepsTypesAndOrder() throws {
        let value = try JSONValue.parse(Data(#"{"a": [true, null, 2.5, "x\"\n\u00e9", -7, 1e2]}"#.utf8))
        XCTAssertEqual(value.serialized, #"{"a":[true,null,2.5,"x\"\né",-7,100]}"#)
        XCTAssertEqual(value["a"], [true, nil, 2.5, "x\"\né", -7, 100])
        // Built objects keep their key order.
        let built: JSONValue = ["b": 1, "a": ["c": .optional(nil)], "s": .number(3)]
        XCTAssertEqual(built.serialized, #"{"b":1,"a":{"c":null},"s":3}"#)
        XCTAssertEqual(JSONValue.string("\u{1}").serialized, #""\u0001""#)
        // The parser says where the text breaks; the server prefixes what it was parsing.
        XCTAssertThrowsError(try JSONValue.parse(Data("{".utf8))) { error in
            XCTAssertEqual("\(error)", "expected a string key at byte 1")
        }
        XCTAssertThrowsError(try RequestFields(body: Data("{".utf8))) { error in
            XCTAssertEqual("\(error)", "malformed JSON body: expected a string key at byte 1")
        }
    }

    func testRequestFieldsNameTheFieldAndTheTypes() throws {
        let fields = try RequestFields(body: Data(#"{"s": "x", "i": 3, "f": 2.0, "h": 2.5, "b": true, "n": null, "a": ["p", 1]}"#.utf8))
        XCTAssertEqual(try fields.string("s"), "x")
        XCTAssertEqual(try fields.int("i"), 3)
        XCTAssertEqual(try fields.int("f"), 2, "2.0 is a whole number")
        XCTAssertEqual(try fields.double("i"), 3)
        XCTAssertNil(try fields.string("n"), "null reads as absent")
        XCTAssertNil(try fields.int("missing"))
        func message(_ body: () throws -> Any?) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { try fields.int("s") }, "s must be a whole number, not a string")
        XCTAssertEqual(message { try fields.int("h") }, "h must be a whole number, not 2.5")
        XCTAssertEqual(message { try fields.int("i", in: 5 ... 9) }, "i must be between 5 and 9, not 3")
        XCTAssertEqual(message { try fields.bool("i") }, "i must be a boolean, not a number")
        XCTAssertEqual(message { try fields.strings("a") }, "a[1] must be a string, not a number")
    }

    func testSamplerCatalogResolvesEveryKindOfName() throws {
        let model = try StableDiffusion.load(folder: TestServers.modelFolder)
        let catalog = SamplerCatalog(config: model.schedulerConfig, defaultDisplayName: try model.samplerDisplayName(nil))
        XCTAssertEqual(catalog.defaultDisplayName, "PNDM")
        XCTAssertEqual(try catalog.resolve("Euler a"), "euler_a")
        XCTAssertEqual(try catalog.resolve(" euler A "), "euler_a")
        XCTAssertEqual(try catalog.resolve("k_euler_ancestral"), "euler_a")
        XCTAssertEqual(try catalog.resolve("DPM++ 2M Karras"), "dpmpp_2m_karras")
        XCTAssertEqual(try catalog.resolve("DPM++ 2M", scheduler: "Karras"), "dpmpp_2m_karras")
        XCTAssertEqual(try catalog.resolve("dpmpp_2m", scheduler: "automatic"), "dpmpp_2m")
        XCTAssertEqual(try catalog.resolve("PLMS"), "pndm")
        XCTAssertNil(try catalog.resolve(nil))
        XCTAssertNil(try catalog.resolve(""))
        XCTAssertThrowsError(try catalog.resolve("Euler b", field: "sampler_name")) { error in
            XCTAssertEqual((error as? APIError)?.field, "sampler_name")
            XCTAssertTrue("\(error)".contains("valid samplers: PNDM (pndm), DDIM (ddim)"), "\(error)")
        }
        XCTAssertEqual(catalog.displayName(for: nil), "PNDM")
        XCTAssertEqual(catalog.displayName(for: "unipc"), "UniPC")
    }

    func testLatentPreviewMapsChannelsToRGB() throws {
        // Two latent pixels: all zeros (→ mid gray), and channel 0 = 1 (→ gray + its coefficients).
        var values = [Float](repeating: 0, count: 2 * 4 * 1 * 2)
        values[4 * 2 + 1] = 1  // image 1, channel 0, pixel 1
        let latents = Tensor(shape: [2, 4, 1, 2], values)
        let first = try LatentPreview.image(from: latents, index: 0)
        XCTAssertEqual([first.width, first.height, first.channels], [2, 1, 3])
        XCTAssertEqual(first.pixels, [128, 128, 128, 128, 128, 128])
        let second = try LatentPreview.image(from: latents, index: 1)
        let expected = LatentPreview.factors[0].map { UInt8(((($0 + 1) / 2) * 255).rounded()) }
        XCTAssertEqual(Array(second.pixels[3 ..< 6]), expected)
        XCTAssertThrowsError(try LatentPreview.image(from: latents, index: 2))
        XCTAssertThrowsError(try LatentPreview.image(from: Tensor(shape: [1, 3, 2, 2], repeating: 0)))
        let nan = try LatentPreview.image(from: Tensor(shape: [1, 4, 1, 1], repeating: .nan))
        XCTAssertEqual(nan.pixels, [128, 128, 128])
    }

    func testGenerationProgressCarriesLatents() throws {
        let model = try StableDiffusion.load(folder: TestServers.modelFolder)
        var request = GenerationRequest(prompt: "x")
        request.steps = 2
        request.width = 32
        request.height = 16
        var shapes: [[Int]] = []
        _ = try model.generate(request) { progress in
            shapes.append(progress.latents?.shape ?? [])
            return true
        }
        XCTAssertEqual(shapes.first, [1, 4, 8, 16])
        XCTAssertEqual(shapes.count, 3, "PNDM: 2 steps + 1 warm-up")
    }

    func testImageStoreEvictsOldestFirst() {
        let store = ImageStore(capacity: 2)
        let ids = (0 ..< 5).map { store.add(Data([UInt8($0)])) }
        XCTAssertEqual(store.count, 2)
        XCTAssertNil(store.image(id: ids[2]))
        XCTAssertEqual(store.image(id: ids[3]), Data([3]))
        XCTAssertEqual(store.image(id: ids[4]), Data([4]))
    }

    func testConfigurationValidationNamesTheSetting() {
        var config = ServerConfiguration()
        config.maxSize = 100
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual(($0 as? ServerConfigurationError)?.setting, "max-size") }
        config = ServerConfiguration()
        config.workers = 0
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual(($0 as? ServerConfigurationError)?.setting, "workers") }
        XCTAssertNoThrow(try ServerConfiguration().validate())
    }

    /// Every step count `checkSteps` accepts runs through every sampler's whole schedule (full, and
    /// truncated as img2img does) without tripping the schedulers' fatal range checks; a crash
    /// here would take the test process down.
    func testAcceptedStepCountsNeverCrashASampler() throws {
        let model = try StableDiffusion.load(folder: TestServers.modelFolder)
        let catalog = SamplerCatalog(config: model.schedulerConfig, defaultDisplayName: try model.samplerDisplayName(nil))
        var accepted = 0, refused = 0
        for sampler in [nil] + catalog.entries.map(\.name) {
            for steps in [1, 2, 3, 7, 50, 150, 333, 499, 500, 501, 998, 999, 1000, 1001, 4000] {
                do {
                    try catalog.checkSteps(steps, sampler: sampler)
                } catch {
                    XCTAssertTrue("\(error)".hasPrefix("steps \(steps) "), "\(error)")
                    refused += 1
                    continue
                }
                accepted += 1
                for strength in [1.0, 0.3] {
                    var scheduler = try Schedulers.make(name: sampler, config: model.schedulerConfig)
                    try scheduler.setTimesteps(steps)
                    var timesteps = scheduler.timesteps
                    var random: any RandomSource = TorchRandomSource(seed: 1)
                    var latents = Tensor(shape: [1, 4, 2, 2], repeating: 0.5)
                    if strength < 1 {
                        let start = steps - min(Int(Double(steps) * strength), steps)
                        timesteps = Array(timesteps.dropFirst(start * scheduler.order))
                        scheduler.setBeginIndex(start * scheduler.order)
                        guard let first = timesteps.first else { continue }
                        latents = scheduler.addNoise(original: latents, noise: random.randn([1, 4, 2, 2]), timestep: first)
                    }
                    for t in timesteps {
                        let input = scheduler.scaleModelInput(latents, timestep: t)
                        latents = scheduler.step(modelOutput: input * 0.1, timestep: t, sample: latents, random: &random)
                    }
                }
            }
        }
        // 1…500 steps for every sampler (and the model's own, PNDM here); DDPM may also run
        // 501, 998 and 999 of the 1000 training timesteps (1000 would need timestep 1000 with
        // this model's steps_offset 1, which the range check refuses). LCM and TCD take at most
        // original_inference_steps (50): 1, 2, 3, 7 and 50 of these.
        let samplers = catalog.entries.count + 1
        let consistency = catalog.entries.filter { ["lcm", "tcd"].contains($0.name) }.count
        XCTAssertEqual(consistency, 2)
        XCTAssertEqual(accepted, (samplers - consistency) * 9 + consistency * 5 + 3,
                       "1…500 steps for every sampler but LCM and TCD (1…50), up to 999 for ddpm")
        XCTAssertEqual(refused, samplers * 15 - accepted)
    }
}
