import DiffuseModels
import Foundation
import Testing

/// `CLIPTokenizer` against the ids and tokens transformers gives for ~90 prompts (ordinary,
/// punctuation, numbers, contractions, quotes, accents, emoji, CJK, whitespace, empty, control
/// characters, truncated, special tokens written in the text, mixed case), for both pad variants
/// and both transformers behaviours.
@Suite struct CLIPTokenizerFixtureTests {
    struct Fixture: Sendable, CustomTestStringConvertible {
        let file: String
        let sd2: Bool
        let normalization: CLIPTokenizer.TextNormalization
        var testDescription: String { file }
    }

    static let fixtures = [
        Fixture(file: "clip-basic-tokenizer.json", sd2: false, normalization: .basicTokenizer),
        Fixture(file: "clip-tokenizers-library.json", sd2: false, normalization: .tokenizersLibrary),
        Fixture(file: "clip-sd2-basic-tokenizer.json", sd2: true, normalization: .basicTokenizer),
        Fixture(file: "clip-sd2-tokenizers-library.json", sd2: true, normalization: .tokenizersLibrary),
    ]

    @Test(arguments: fixtures)
    func encodeAndTokenizeMatchTransformers(_ fixture: Fixture) throws {
        let expectations = try TokenizerFixtures.expected(fixture.file, as: CLIPExpectations.self)
        #expect(expectations.cases.count >= 60)
        func check(_ directory: URL) throws {
            let tokenizer = try CLIPTokenizer(directory: directory, normalization: fixture.normalization)
            #expect(tokenizer.padTokenID == expectations.pad_token_id)
            #expect(tokenizer.maxLength == expectations.max_length)
            for expected in expectations.cases {
                let ids = tokenizer.encode(expected.text)
                #expect(ids == expected.ids, "encode(\(describe(expected.text)))")
                let tokens = tokenizer.tokenize(expected.text)
                #expect(tokens == expected.tokens, "tokenize(\(describe(expected.text)))")
            }
        }
        if fixture.sd2 {
            try TokenizerFixtures.withSD2Folder(check)
        } else {
            try check(TokenizerFixtures.clipDirectory)
        }
    }

    @Test func fixturesCoverTheRequiredKinds() throws {
        let texts = try TokenizerFixtures.expected("clip-basic-tokenizer.json", as: CLIPExpectations.self).cases.map(\.text)
        for required in ["a red apple on a wooden table", "A photograph of an astronaut riding a horse", "4k", "1990s",
                         "don't", "it's", "café crème", "", "<|endoftext|>"] {
            #expect(texts.contains(required), "\(describe(required)) missing")
        }
        let tokenizer = try CLIPTokenizer(directory: TokenizerFixtures.clipDirectory)
        #expect(texts.contains { tokenizer.tokenIDs($0).count > 75 }, "no prompt is truncated")
    }
}
