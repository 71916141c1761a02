import DiffuseModels
import DiffuseTensor
import Foundation
import Testing

/// Load and encode times of all-MiniLM-L6-v2, printed for reading, not asserted (timing belongs to
/// `make bench`). The checks are on the results: a batch of 64 captions equals the captions encoded
/// alone, and the fixture's texts their reference embeddings.
@Suite(.serialized) struct MiniLMPerformanceTests {
    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// 64 short captions: the fixture's short texts and variations of them.
    static func captions(_ base: [String]) -> [String] {
        let subjects = ["cat", "dog", "red apple", "sailboat", "mountain lake", "robot", "teapot", "owl"]
        let styles = ["a photo of a", "a drawing of a", "a painting of a", "an emoji of a", "a close-up of a", "a toy"]
        var out = base
        var k = 0
        while out.count < 64 {
            out.append("\(styles[k % styles.count]) \(subjects[(k / styles.count) % subjects.count])")
            k += 1
        }
        return out
    }

    @Test func encodeTimes() throws {
        let fixture = try MiniLM.Fixture()
        var loaded: SentenceEncoder? = nil
        let load = try seconds { loaded = try MiniLM.encoder() }
        let encoder = try #require(loaded)
        let short = fixture.reference.texts.filter { !$0.isEmpty && encoder.tokenizer.encode($0).count <= 16 }
        #expect(short.count >= 8)
        let texts = Self.captions(short)
        #expect(texts.count == 64)

        _ = encoder.encode(["warm-up"])
        var single: [Double] = []
        var result: SentenceEncoding? = nil
        for _ in 0 ..< 20 { single.append(seconds { result = encoder.encode(["red apple"]) }) }
        #expect(result?.pooled.shape == [1, 384])
        var batch: SentenceEncoding? = nil
        var batchTimes: [Double] = []
        for _ in 0 ..< 3 { batchTimes.append(seconds { batch = encoder.encode(texts) }) }
        let fixed16 = seconds { _ = encoder.encode(texts, length: 16) }
        let out = try #require(batch)
        single.sort()
        print(String(format: "[minilm] load %.0f ms; one caption (\"red apple\", 4 tokens): median %.2f ms, best %.2f ms; "
                     + "batch of 64 captions (padded to %d tokens): best %.1f ms (%.2f ms a caption); "
                     + "64 captions at fixed length 16: %.1f ms; %d threads",
                     load * 1e3, single[single.count / 2] * 1e3, single[0] * 1e3, out.tokens.shape[1],
                     batchTimes.min()! * 1e3, batchTimes.min()! * 1e3 / 64, fixed16 * 1e3, Parallel.threadCount))

        // The batch gives each caption what it gets alone, and the fixture's texts their references.
        #expect(out.pooled.shape == [64, 384])
        let expected = try fixture.tensor("pooled")
        for (row, text) in texts.enumerated() {
            if let i = fixture.reference.texts.firstIndex(of: text) {
                expectClose(out.pooled.narrowed(axis: 0, start: row, length: 1), expected.narrowed(axis: 0, start: i, length: 1),
                            "batch of 64, \(text)")
            } else if row % 8 == 0 {
                expectClose(out.pooled.narrowed(axis: 0, start: row, length: 1), encoder.encode([text]).pooled,
                            "batch of 64 vs alone, \(text)", tolerance: 1e-5)
            }
        }
    }
}
