import DiffuseModels
import Foundation
import Testing

/// `WordPieceTokenizer` against transformers' `BertTokenizer` on all-MiniLM-L6-v2's vocabulary:
/// ~60 prompts (sentences, punctuation, numbers, accents, CJK, emoji and emoji names, special
/// tokens in the text, words over 100 characters, a prompt over 256 tokens), uncased with
/// max_length 256 and 16, and cased.
@Suite struct WordPieceTokenizerFixtureTests {
    @Test func encodeAndTokenizeMatchTransformers() throws {
        let expectations = try TokenizerFixtures.expected("minilm.json", as: WordPieceExpectations.self)
        #expect(expectations.settings.count == 3)
        for setting in expectations.settings {
            #expect(setting.cases.count >= 50)
            let tokenizer = try WordPieceTokenizer(vocabulary: TokenizerFixtures.miniLMVocabulary,
                                                   lowercase: setting.lowercase, maxLength: setting.max_length)
            for expected in setting.cases {
                #expect(tokenizer.encode(expected.text) == expected.ids, "\(setting.name): encode(\(describe(expected.text)))")
                #expect(tokenizer.tokenize(expected.text) == expected.tokens,
                        "\(setting.name): tokenize(\(describe(expected.text)))")
            }
        }
    }

    @Test func specialIDsAndDefaults() throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: TokenizerFixtures.miniLMVocabulary)
        #expect(tokenizer.classifierTokenID == 101)
        #expect(tokenizer.separatorTokenID == 102)
        #expect(tokenizer.unknownTokenID == 100)
        #expect(tokenizer.padTokenID == 0)
        #expect(tokenizer.vocabularySize == 30522)
        #expect(tokenizer.maxLength == 256)
        #expect(tokenizer.lowercase)
        #expect(tokenizer.encode("") == [101, 102])
        #expect(tokenizer.tokenize("unaffable") == ["una", "##ffa", "##ble"])  // this vocabulary's pieces
        #expect(tokenizer.encode(String(repeating: "word ", count: 1000)).count == 256)
    }

    @Test func emojiNamesAreCovered() throws {
        let texts = try TokenizerFixtures.expected("minilm.json", as: WordPieceExpectations.self).settings[0].cases.map(\.text)
        #expect(texts.contains("thumbs up: medium skin tone"))
        #expect(texts.contains("flag: Japan"))
    }
}
