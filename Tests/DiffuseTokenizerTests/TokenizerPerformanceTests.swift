import DiffuseModels
import Foundation
import Testing

/// Loading and encoding times, printed; the limits are loose multiples of the targets (load
/// < 200 ms, a 77-token prompt well under 1 ms) so a busy machine does not fail them.
@Suite struct TokenizerPerformanceTests {
    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    @Test func clipLoadAndEncodeTimes() throws {
        var tokenizer: CLIPTokenizer? = nil
        var loads: [Double] = []
        for _ in 0..<3 {
            loads.append(try seconds { tokenizer = try CLIPTokenizer(directory: TokenizerFixtures.clipDirectory) })
        }
        let clip = try #require(tokenizer)
        let prompt = "masterpiece, best quality, ultra-detailed, 8k wallpaper, a breathtaking panoramic landscape of "
            + "snow-capped mountains at golden hour, a crystal clear alpine lake reflecting the peaks, pine forests, "
            + "wildflowers in the foreground, dramatic clouds, volumetric lighting, god rays, photorealistic, "
            + "shot on Canon EOS R5, 24mm lens, f/8, HDR, trending on artstation"
        #expect(clip.tokenIDs(prompt).count >= 75)
        let first = seconds { _ = clip.encode(prompt) }  // words not yet cached
        let runs = 1000
        let cached = seconds { for _ in 0..<runs { _ = clip.encode(prompt) } } / Double(runs)
        print(String(format: "CLIPTokenizer: load %.1f ms (best of 3), encode %.1f µs first, %.1f µs cached (%d tokens)",
                     loads.min()! * 1e3, first * 1e6, cached * 1e6, clip.tokenIDs(prompt).count))
        #expect(loads.min()! < 1.0)
        #expect(first < 0.005)
        #expect(cached < 0.001)
    }

    @Test func wordPieceLoadAndEncodeTimes() throws {
        var tokenizer: WordPieceTokenizer? = nil
        let load = try seconds { tokenizer = try WordPieceTokenizer(vocabulary: TokenizerFixtures.miniLMVocabulary) }
        let bert = try #require(tokenizer)
        let sentence = "A photograph of an astronaut riding a horse on the moon, with Earth rising over the horizon."
        let runs = 1000
        let encode = seconds { for _ in 0..<runs { _ = bert.encode(sentence) } } / Double(runs)
        print(String(format: "WordPieceTokenizer: load %.1f ms, encode %.1f µs", load * 1e3, encode * 1e6))
        #expect(load < 1.0)
        #expect(encode < 0.001)
    }
}
