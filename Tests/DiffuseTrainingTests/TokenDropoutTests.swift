import DiffusePipelines
import DiffuseTensor
import DiffuseTraining
import Testing

/// `TokenDropout` swaps a caption's token states for the empty prompt's and keeps its pooled
/// embedding (and appended pooled token); empty captions are never touched.
@Suite struct TokenDropoutTests {
    /// Three prompts of 4 tokens × 2 values (the last token plays the pooled token) with distinct
    /// values, and an empty prompt of −1s.
    static func encodings() -> (PromptEmbedding, PromptEmbedding) {
        let tokens = Tensor(shape: [3, 4, 2], (0 ..< 24).map(Float.init))
        let pooled = Tensor(shape: [3, 2], [100, 101, 102, 103, 104, 105])
        let empty = PromptEmbedding(tokens: Tensor(shape: [1, 4, 2], Array(repeating: -1, count: 8)),
                                    pooled: Tensor(shape: [1, 2], [0, 0]))
        return (PromptEmbedding(tokens: tokens, pooled: pooled), empty)
    }

    @Test func droppedRowsTakeTheEmptyStatesButKeepTheirPooledToken() {
        let (encoded, empty) = Self.encodings()
        var random = TrainingRandom(seed: 7)
        let (out, dropped) = TokenDropout.apply(to: encoded, empty: empty, captions: ["a", "", "c"], probability: 1,
                                                keepingLast: 1, random: &random)
        #expect(dropped == [0, 2])
        let rows = (0 ..< 3).map { Array(out.tokens.scalars[$0 * 8 ..< $0 * 8 + 8]) }
        #expect(rows[0] == [-1, -1, -1, -1, -1, -1, 6, 7])
        #expect(rows[1] == (8 ..< 16).map(Float.init))  // the empty caption: as it was
        #expect(rows[2] == [-1, -1, -1, -1, -1, -1, 22, 23])
        #expect(out.pooled!.scalars == encoded.pooled!.scalars)
        // The input (which the prompt cache may share) is unchanged.
        #expect(encoded.tokens.scalars == (0 ..< 24).map(Float.init))
    }

    @Test func withoutAPooledTokenEveryStateIsReplaced() {
        let (encoded, empty) = Self.encodings()
        var random = TrainingRandom(seed: 7)
        let (out, dropped) = TokenDropout.apply(to: encoded, empty: empty, captions: ["a", "b", "c"], probability: 1,
                                                keepingLast: 0, random: &random)
        #expect(dropped == [0, 1, 2])
        #expect(out.tokens.scalars == Array(repeating: -1, count: 24))
    }

    @Test func probabilityDecidesHowOftenAndZeroLeavesAll() {
        let (encoded, empty) = Self.encodings()
        var random = TrainingRandom(seed: 1)
        let (same, none) = TokenDropout.apply(to: encoded, empty: empty, captions: ["a", "b", "c"], probability: 0,
                                              keepingLast: 1, random: &random)
        #expect(none.isEmpty && same.tokens.scalars == encoded.tokens.scalars)
        var count = 0
        for _ in 0 ..< 400 {
            count += TokenDropout.apply(to: encoded, empty: empty, captions: ["a", "b", "c"], probability: 0.3,
                                        keepingLast: 1, random: &random).dropped.count
        }
        // 1,200 draws at p = 0.3: 360 expected, σ ≈ 16.
        #expect((290 ... 430).contains(count), "dropped \(count) of 1200")
    }
}
