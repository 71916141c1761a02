import DiffuseFormats
import DiffusePipelines
import DiffuseTensor
import Foundation
import Testing

/// Prompts matched to training captions by the bundled model's sentence encoder (`CaptionIndex`).
@Suite struct CaptionIndexTests {
    static let captions = ["cat face", "dog face", "red apple", "green apple", "thumbs up", "flag: Japan", "pizza", "rainbow",
                           "fire", "snowman"]

    func bundled() throws -> DiffusionPipeline {
        try #require(FileManager.default.fileExists(atPath: BundledModelTests.folder.appendingPathComponent("model_index.json").path),
                     "models/emoji is missing")
        return try DiffusionPipeline.load(folder: BundledModelTests.folder)
    }

    @Test func paraphrasesFindTheirCaptionsAndTheFileRoundTrips() throws {
        let model = try bundled()
        let encoder = try #require(model.textEncoder)
        let index = try #require(CaptionIndex.build(captions: Self.captions + ["pizza"], encoder: encoder))
        #expect(index.captions == Self.captions && index.embeddings.shape == [Self.captions.count, 384])
        let expected = ["a kitty": "cat face", "a shiny red apple": "red apple", "a slice of pizza": "pizza",
                        "a thumb pointing up": "thumbs up", "a burning flame": "fire", "a man made of snow": "snowman"]
        for (prompt, caption) in expected.sorted(by: { $0.key < $1.key }) {
            let pooled = try #require(encoder.encode([prompt]).pooled)
            let match = index.nearest(to: pooled)
            print("[caption index] \"\(prompt)\" → \"\(match.caption)\" (cosine \(match.similarity))")
            #expect(match.caption == caption, "\"\(prompt)\"")
            #expect(match.similarity > 0.3 && match.similarity < 1)
        }
        // A caption is its own nearest, at cosine 1.
        let own = index.nearest(to: try #require(encoder.encode(["rainbow"]).pooled))
        #expect(own.caption == "rainbow" && abs(own.similarity - 1) < 1e-5)

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("caption-index-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try index.write(to: url)
        let read = try CaptionIndex(contentsOf: url)
        #expect(read.captions == index.captions)
        let difference = zip(read.embeddings.scalars, index.embeddings.scalars).map { abs($0 - $1) }.max() ?? 1
        print("[caption index] float16 file: max abs difference \(difference)")
        #expect(difference < 1e-3)

        // A file without its captions is refused, naming the file.
        let bare = FileManager.default.temporaryDirectory.appendingPathComponent("caption-index-bare-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: bare) }
        try SafeTensorsWriter.write([.init(name: "embeddings", shape: [1, 2], floats: [1, 0])], to: bare)
        #expect { try CaptionIndex(contentsOf: bare) } throws: { error in
            "\(error)".contains(bare.path) && "\(error)".contains("captions")
        }
    }

    /// Keywords fill in what a bare name lacks: "mushroom" says nothing of toadstools, its CLDR
    /// keywords do. Bare captions match these prompts to the wrong emoji; with descriptions the
    /// right one wins, and the descriptions survive the file.
    @Test func keywordsDescribeCaptions() throws {
        let model = try bundled()
        let encoder = try #require(model.textEncoder)
        let keywords: [String: [String]] = [
            "high voltage": ["danger", "electric", "lightning", "voltage", "zap"], "nut and bolt": ["bolt", "nut", "tool"],
            "mushroom": ["toadstool"], "frog": ["face"], "eggplant": ["aubergine", "vegetable"], "snail": [],
        ]
        let captions = keywords.keys.sorted()
        #expect(CaptionIndex.description(caption: "eggplant", keywords: ["aubergine", "vegetable"]) == "eggplant: aubergine, vegetable")
        #expect(CaptionIndex.description(caption: "snail", keywords: []) == "snail")
        let bare = try #require(CaptionIndex.build(captions: captions, encoder: encoder))
        let described = try #require(CaptionIndex.build(captions: captions, keywords: captions.map { keywords[$0]! },
                                                        encoder: encoder))
        #expect(bare.descriptions == nil && described.descriptions?.shape == [captions.count, 384])
        for (prompt, caption) in [("a red toadstool", "mushroom"), ("an aubergine", "eggplant")] {
            let pooled = try #require(encoder.sentenceEmbeddings([prompt]))
            let before = bare.nearest(to: pooled), after = described.nearest(to: pooled)
            print("[caption index] \"\(prompt)\": captions alone → \"\(before.caption)\", with keywords → \"\(after.caption)\"")
            #expect(before.caption != caption, "\"\(prompt)\" already matched without keywords")
            #expect(after.caption == caption, "\"\(prompt)\"")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("caption-index-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try described.write(to: url)
        let read = try CaptionIndex(contentsOf: url)
        let difference = zip(try #require(read.descriptions).scalars, described.descriptions!.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(difference < 1e-3)
        #expect(read.nearest(to: try #require(encoder.sentenceEmbeddings(["a red toadstool"]))).caption == "mushroom")
    }

    /// A description longer than the UNet's 24 prompt tokens is embedded whole.
    @Test func sentenceEmbeddingsAreNotCutAtThePromptLength() throws {
        let encoder = try #require(try bundled().textEncoder)
        let long = "face with tears of joy: face, joy, laugh, tears, laughing, crying, happy, funny, hilarious, lol, rofl, emotion"
        let whole = try #require(encoder.sentenceEmbeddings([long]))
        let cut = try #require(encoder.encode([long]).pooled)
        let cosine = zip(whole.scalars, cut.scalars).map { $0 * $1 }.reduce(0, +)
        #expect(cosine < 0.999, "the long text was cut (cosine \(cosine))")
        let short = try #require(encoder.sentenceEmbeddings(["red apple"]))
        let difference = zip(short.scalars, try #require(encoder.encode(["red apple"]).pooled).scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(difference < 1e-5)
    }

    /// Generating from a paraphrase with matching on is generating from its caption; off, the
    /// paraphrase itself reaches the UNet.
    @Test func generationUsesTheMatchedCaption() throws {
        let model = try bundled()
        let encoder = try #require(model.textEncoder)
        let index = try #require(CaptionIndex.build(captions: Self.captions, encoder: encoder))
        model.captionIndex = index
        #expect(model.matchedCaption(for: "a kitty")?.caption == "cat face")
        #expect(model.matchedCaption(for: "cat face") == nil && model.matchedCaption(for: "") == nil)
        var request = GenerationRequest(prompt: "a kitty")
        request.steps = 8
        request.guidance = 4
        request.seed = 3
        let matched = try model.generate(request)[0]
        request.matchCaption = false
        let asWritten = try model.generate(request)[0]
        request.prompt = "cat face"
        let caption = try model.generate(request)[0]
        #expect(matched.pixels == caption.pixels)
        #expect(asWritten.pixels != caption.pixels)
    }
}
