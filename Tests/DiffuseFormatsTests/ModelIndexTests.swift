import DiffuseFormats
import Foundation
import Testing

/// `model_index.json`, read and written by `ModelIndex`.
@Suite struct ModelIndexTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyFieldSurvivesAWriteAndARead() throws {
        var index = ModelIndex(className: "DiffuseTextToPixelPipeline", components: [
            "unet": .init("diffusers", "UNet2DConditionModel"), "scheduler": .init("diffusers", "DPMSolverMultistepScheduler"),
        ])
        index.textEncoder = "all-MiniLM-L6-v2"
        index.promptLength = 24
        index.patchSize = 2
        index.pooledOnly = true
        index.pooledToken = true
        index.guidance = 1.5
        index.steps = 4
        index.sizes = [.init(width: 32, height: 32), .init(width: 64, height: 48)]
        index.otherKeys = ["requires_safety_checker": false, "feature_extractor": [nil, nil]]
        try withTemporaryDirectory { folder in
            let url = folder.appendingPathComponent("model_index.json")
            try index.write(to: url)
            let read = try ModelIndex(contentsOf: url)
            #expect(read == index)
            #expect(read.json == index.json)
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(text.hasPrefix("{\n  \"_class_name\": \"DiffuseTextToPixelPipeline\",\n") && text.hasSuffix("}\n"), "\(text)")
        }
    }

    @Test func theBundledIndexReadsAndWritesBackUnchanged() throws {
        let url = Self.root.appendingPathComponent("models/emoji/model_index.json")
        let index = try ModelIndex(contentsOf: url)
        #expect(index.className == "DiffuseTextToPixelPipeline" && index.diffusersVersion == "0.30.0")
        #expect(index.components["unet"] == .init("diffusers", "UNet2DConditionModel"))
        #expect(index.textEncoder == "all-MiniLM-L6-v2" && index.promptLength == 24 && index.patchSize == 2)
        #expect(index.guidance == 1.5 && index.sizes == [.init(width: 32, height: 32)] && index.otherKeys.isEmpty)
        #expect(index.json == (try JSONValue.parse(Data(contentsOf: url))))
    }

    @Test func defaultsAndDiffusersKeys() throws {
        let index = try ModelIndex(ConfigFile(values: [
            "_class_name": "StableDiffusionPipeline", "safety_checker": [nil, nil], "vae": ["diffusers", "AutoencoderKL"],
            "requires_safety_checker": true,
        ], source: "model_index.json"))
        #expect(index.components == ["vae": .init("diffusers", "AutoencoderKL")], "null components are not components")
        #expect(index.otherKeys == ["safety_checker": [nil, nil], "requires_safety_checker": true])
        #expect(index.patchSize == 1 && !index.pooledOnly && index.guidance == nil && index.sizes == nil)
        #expect(try ModelIndex(ConfigFile(values: [:], source: "model_index.json")).className == "StableDiffusionPipeline")
    }

    @Test(arguments: [
        (#"{"_diffuse_prompt_length": "24"}"#, #""_diffuse_prompt_length" should be an integer, found "24""#),
        (#"{"_diffuse_guidance": "high"}"#, #""_diffuse_guidance" should be a number, found "high""#),
        (#"{"_diffuse_text_encoder": 3}"#, #""_diffuse_text_encoder" should be a string or null, found 3"#),
        (#"{"_diffuse_pooled_only": "yes"}"#, #""_diffuse_pooled_only" should be true or false, found "yes""#),
        (#"{"_diffuse_sizes": [[32]]}"#, #""_diffuse_sizes" is malformed: it should be a list of [width, height] pairs"#),
        (#"{"_class_name": ["x"]}"#, #""_class_name" should be a string, found ["x"]"#),
    ])
    func wronglyTypedKeysAreRefusedByFileAndKey(_ json: String, _ expected: String) throws {
        let source = "model/model_index.json"
        do {
            _ = try ModelIndex(ConfigFile(data: Data(json.utf8), source: source))
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".hasPrefix("\(source): \(expected)"), "\(error)")
        }
    }
}
