import DiffuseModels
import Foundation
import Testing

/// Special tokens under the tokenizer_config.json / special_tokens_map.json variants of real
/// checkpoints: which id pads, and which spellings of "<|startoftext|>", "<|endoftext|>" and "!"
/// are taken as special tokens (for transformers 5 this depends on the tokens' `normalized` flags).
@Suite struct CLIPTokenizerConfigVariantTests {
    @Test(arguments: CLIPTokenizer.TextNormalization.allCases)
    func specialTokensFollowTheConfiguration(_ normalization: CLIPTokenizer.TextNormalization) throws {
        let root = try TokenizerFixtures.expectedObject("clip-config-variants.json")
        let variants = try #require(root["variants"] as? [[String: Any]])
        #expect(variants.count >= 8)
        let key = normalization == .basicTokenizer ? "basic_tokenizer" : "tokenizers_library"
        for variant in variants {
            let name = try #require(variant["name"] as? String)
            let padID = try #require(variant["pad_token_id"] as? Int)
            let cases = try #require(variant["cases"] as? [[String: Any]])
            try TokenizerFixtures.withCLIPFolder(tokenizerConfig: variant["tokenizer_config"],
                                                 specialTokensMap: variant["special_tokens_map"]) { folder in
                let tokenizer = try CLIPTokenizer(directory: folder, normalization: normalization)
                #expect(tokenizer.padTokenID == padID, "\(name): pad id")
                #expect(tokenizer.startTokenID == 49406 && tokenizer.endTokenID == 49407, "\(name)")
                for entry in cases {
                    let text = try #require(entry["text"] as? String)
                    let ids = try #require(entry[key] as? [Int])
                    #expect(tokenizer.encode(text) == ids, "\(name): encode(\(describe(text)))")
                }
            }
        }
    }
}
