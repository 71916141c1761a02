import DiffuseFormats
import DiffusePipelines
import DiffuseTensor
import Foundation
import Testing

/// The conditioning AUTOMATIC1111's rules give, against tools/make_prompt_fixtures.py's reference
/// (transformers' CLIP on the tiny sd1/sd2 text encoders): chunk ids and multipliers exactly,
/// states to 1e-5; plus textual-inversion files and the pipeline end to end.
@Suite(.serialized) struct A1111PromptEncodingTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let prompts = fixtures.appendingPathComponent("prompts")

    struct Chunk: Decodable { var ids: [Int]; var multipliers: [Double] }
    struct Case: Decodable {
        var name: String
        var model: String
        var prompt: String
        var negative_prompt: String
        var embeddings: [String]
        var cond_chunks: [Chunk]
        var uncond_chunks: [Chunk]
        var cond_token_count: Int
        var uncond_token_count: Int
        /// The prompt's tokens (tags removed), before any chunking.
        var raw_token_count: Int
        struct Noise: Decodable { var cond: Double; var uncond: Double }
        /// How far the reference's float32 result is from the same computation in float64.
        var float32_vs_float64: Noise
    }
    struct Cases: Decodable { var cases: [Case] }

    static func cases() throws -> [Case] {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: prompts.appendingPathComponent("cases.json"))).cases
    }

    static func model(_ name: String) throws -> DiffusionPipeline { try PipelineParityTests.model(name) }

    static func encoder(_ name: String) throws -> CLIPPromptEncoder {
        try #require(try model(name).textEncoder as? CLIPPromptEncoder)
    }

    static func embedding(_ file: String) throws -> TextualInversion {
        try TextualInversion.load(prompts.appendingPathComponent("embeddings/\(file)"))
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
    }

    @Test(arguments: try cases().map(\.name))
    func matchesReference(_ name: String) throws {
        let c = try #require(try Self.cases().first { $0.name == name })
        let encoder = try Self.encoder(c.model)
        try encoder.useEmbeddings(try c.embeddings.map(Self.embedding))
        defer { try? encoder.useEmbeddings([]) }
        let positive = try encoder.a1111Chunks(PromptAdapterTag.extract(from: c.prompt).text)
        let negative = try encoder.a1111Chunks(c.negative_prompt)
        for (chunks, expected, count) in [(positive, c.cond_chunks, c.cond_token_count), (negative, c.uncond_chunks, c.uncond_token_count)] {
            // Embedding vectors: A1111 writes id 0 where our extra ids stand.
            let vocabulary = 49408
            #expect(chunks.ids.map { $0.map { $0 >= vocabulary ? 0 : $0 } } == expected.map(\.ids), "\(name): chunk ids")
            #expect(chunks.multipliers == expected.map(\.multipliers), "\(name): multipliers")
            #expect(chunks.tokenCount == count, "\(name): token count")
        }
        let reference = try SafeTensorsFile(url: Self.prompts.appendingPathComponent("conditioning.safetensors"))
        func tensor(_ key: String) throws -> Tensor { Tensor(shape: try reference.info(key).shape, try reference.floats(key)) }
        // 1. The text model's states of each chunk, before emphasis.
        for (chunks, key) in [(positive, "\(name).cond_states"), (negative, "\(name).uncond_states")] {
            let states = encoder.model(chunks.ids, extraTokenRows: encoder.embeddings?.extraRows)
            let expected = try tensor(key)
            #expect(states.shape == expected.shape, "\(key): shape \(states.shape) vs \(expected.shape)")
            let diff = Self.maxDifference(states, expected)
            print("[a1111 prompt] \(c.model) \(key) \(expected.shape): max abs difference \(diff)")
            #expect(diff <= 1e-5, "\(key): differs by \(diff)")
        }
        var worstEmphasis: Float = 0
        // 2. The emphasis on the reference's own states, against the same formula in float64: the
        // arithmetic to 1e-5 (torch's float32 means are further off, see 3).
        for (chunks, states, key) in [(positive, "cond_states", "cond_emphasis_exact"), (negative, "uncond_states", "uncond_emphasis_exact")] {
            let input = try tensor("\(name).\(states)"), expected = try tensor("\(name).\(key)")
            for (i, multipliers) in chunks.multipliers.enumerated() {
                let chunk = A1111Emphasis.original(input.narrowed(axis: 0, start: i, length: 1).contiguous(), multipliers: multipliers)
                let diff = Self.maxDifference(chunk, expected.narrowed(axis: 1, start: 77 * i, length: 77).contiguous())
                worstEmphasis = Swift.max(worstEmphasis, diff)
                #expect(diff <= 1e-5, "\(name).\(key) chunk \(i): emphasis differs by \(diff)")
            }
        }
        print("[a1111 prompt] \(c.model) \(name) emphasis on the reference states: max abs difference \(worstEmphasis)")
        // 3. End to end (cond / uncond padded to one length). The emphasis divides two means of a
        // chunk, which are small for these random encoders (about 3e-4), so float32 rounding in the
        // states is magnified: torch's float32 result is itself up to 7e-5 from its float64 one
        // (`float32_vs_float64`). Ours must be as close: within 1e-5, or twice torch's own error.
        let pair = try encoder.encodePair(prompt: c.prompt, negativePrompt: c.negative_prompt, syntax: .a1111)
        for (got, key, noise) in [(pair.conditional.tokens, "cond", c.float32_vs_float64.cond), (pair.unconditional!.tokens, "uncond", c.float32_vs_float64.uncond)] {
            let expected = try tensor("\(name).\(key)")
            #expect(got.shape == expected.shape, "\(name).\(key): shape \(got.shape) vs \(expected.shape)")
            guard got.shape == expected.shape else { continue }
            let diff = Self.maxDifference(got, expected)
            let tolerance = Swift.max(1e-5, 2 * noise)
            print("[a1111 prompt] \(c.model) \(name).\(key) \(expected.shape): max abs difference \(diff) (torch float32 vs float64: \(noise))")
            #expect(Double(diff) <= tolerance, "\(name).\(key): differs by \(diff)")
        }
    }

    /// A prompt without special syntax that fits in 75 tokens: the same ids and the same floats as
    /// diffusers' encoding (A1111 multiplies by 1 and divides the mean by itself), so the same image.
    @Test func plainTextGivesThePlainImage() throws {
        let pipeline = try Self.model("sd1")
        var request = GenerationRequest(prompt: "a red apple on a wooden table, photo")
        request.negativePrompt = "blurry"
        request.steps = 3
        request.seed = 11
        let plain = try pipeline.generate(request)[0]
        request.promptSyntax = .a1111
        let a1111 = try pipeline.generate(request)[0]
        #expect(plain.pixels == a1111.pixels)
        let encoder = try Self.encoder("sd1")
        let p = try encoder.encodePair(prompt: request.prompt, negativePrompt: "blurry", syntax: .plain)
        let a = try encoder.encodePair(prompt: request.prompt, negativePrompt: "blurry", syntax: .a1111)
        #expect(p.conditional.tokens.scalars == a.conditional.tokens.scalars)
        #expect(p.unconditional!.tokens.scalars == a.unconditional!.tokens.scalars)
    }

    /// A 89-token prompt (two chunks, comma back-off) through the whole tiny pipeline gives the
    /// image diffusers' StableDiffusionPipeline gives with the reference's conditioning as
    /// prompt_embeds: the UNet attends to 154 tokens.
    @Test func longPromptGivesDiffusersImage() throws {
        let c = try #require(try Self.cases().first { $0.name == "long_commas" })
        var request = GenerationRequest(prompt: c.prompt)
        request.negativePrompt = c.negative_prompt
        request.promptSyntax = .a1111
        (request.steps, request.guidance, request.seed, request.width, request.height) = (4, 7.5, 5, 48, 32)
        let image = try Self.model("sd1").generate(request)[0]
        let expected = try PNGImage(contentsOf: Self.prompts.appendingPathComponent("long_prompt.png"))
        let diff = try PipelineParityTests.maxDifference(image, expected)
        print("[a1111 prompt] long prompt image: max channel difference \(diff)/255")
        #expect(diff <= 3)
        // Plain syntax cuts the same prompt at 75 tokens, and says how many it dropped.
        #expect(try Self.encoder("sd1").droppedTokenCount(c.prompt) == c.raw_token_count - 75)
    }

    @Test func emphasisErrorNamesTheField() throws {
        var request = GenerationRequest(prompt: "a cat")
        request.negativePrompt = "(ugly:1.2.3)"
        request.promptSyntax = .a1111
        request.steps = 1
        do {
            _ = try Self.model("sd1").generate(request)
            Issue.record("a weight of 1.2.3 was accepted")
        } catch let error as PipelineError {
            #expect(error.parameter == .negativePrompt)
            #expect(error.description.contains("1.2.3"))
        }
    }

    @Test func embeddingFiles() throws {
        let mystyle = try Self.embedding("mystyle.safetensors")
        #expect(mystyle.names == ["mystyle"] && mystyle.count == 2 && mystyle.width == 32 && mystyle.key == "emb_params")
        let diffusers = try Self.embedding("learned_embeds.safetensors")
        #expect(diffusers.names == ["learned_embeds", "<cat-toy>"] && diffusers.count == 1)
        let encoder = try Self.encoder("sd1")
        defer { try? encoder.useEmbeddings([]) }
        // The wrong width: one line naming the file and the key.
        do {
            try encoder.useEmbeddings([try Self.embedding("wide.safetensors")])
            Issue.record("a 48-wide embedding was accepted by a 32-wide encoder")
        } catch let error as TextualInversionError {
            #expect(error.description.contains("wide.safetensors") && error.description.contains("emb_params")
                    && error.description.contains("48") && !error.description.contains("\n"))
        }
        #expect(throws: TextualInversionError.self) { try Self.embedding("two.safetensors") }
        let pickle = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-embedding-\(getpid()).pt")
        try Data([0x80, 0x02]).write(to: pickle)
        defer { try? FileManager.default.removeItem(at: pickle) }
        do {
            _ = try TextualInversion.load(pickle)
            Issue.record("a pickle file was loaded")
        } catch let error as TextualInversionError {
            #expect(error.description.contains(".safetensors") && error.description.contains("pickle"))
        }
        // Plain syntax uses embeddings too: the word's ids become the vectors' ids.
        try encoder.useEmbeddings([mystyle, diffusers])
        let ids = encoder.plainIDs("a mystyle <cat-toy>")
        #expect(Array(ids.prefix(6)) == [49406, 320, 49408, 49409, 49410, 49407])
        let plain = try encoder.encodePair(prompt: "a mystyle", negativePrompt: nil, syntax: .plain).conditional.tokens
        try encoder.useEmbeddings([])
        let without = try encoder.encodePair(prompt: "a mystyle", negativePrompt: nil, syntax: .plain).conditional.tokens
        #expect(plain.scalars != without.scalars)
        #expect(encoder.plainIDs("a mystyle") == encoder.tokenizer.encode("a mystyle"))
    }
}
