import DiffuseModels
import Foundation
import Testing

/// Properties of `CLIPTokenizer` beyond the fixture comparisons.
@Suite struct CLIPTokenizerBehaviorTests {
    static let tokenizer: CLIPTokenizer? = try? CLIPTokenizer(directory: TokenizerFixtures.clipDirectory)

    @Test func loadsTheFolderSettings() throws {
        let tokenizer = try #require(Self.tokenizer)
        #expect(tokenizer.vocabularySize == 49408)
        #expect(tokenizer.maxLength == 77)
        #expect(tokenizer.startTokenID == 49406)
        #expect(tokenizer.endTokenID == 49407)
        #expect(tokenizer.padTokenID == 49407)
        #expect(tokenizer.normalization == .tokenizersLibrary)  // the default: transformers 5, as diffusers runs it today
    }

    @Test func sd2FolderPadsWithExclamationMark() throws {
        try TokenizerFixtures.withSD2Folder { folder in
            let tokenizer = try CLIPTokenizer(directory: folder)
            #expect(tokenizer.padTokenID == 0)
            #expect(Array(tokenizer.encode("a photo of a cat").prefix(9)) == [49406, 320, 1125, 539, 320, 2368, 49407, 0, 0])
        }
    }

    @Test func encodeHasStartEndAndPadding() throws {
        let tokenizer = try #require(Self.tokenizer)
        #expect(tokenizer.encode("") == [49406, 49407] + Array(repeating: 49407, count: 75))
        let long = tokenizer.encode(String(repeating: "cat ", count: 200))
        #expect(long.count == 77)
        #expect(long.first == 49406 && long.last == 49407)
        #expect(long[1..<76].allSatisfy { $0 == 2368 })
        #expect(tokenizer.tokenize("a red apple") == ["a</w>", "red</w>", "apple</w>"])
        #expect(tokenizer.tokenIDs("a red apple") == [320, 736, 3055])
    }

    /// The vocabulary re-serialized with every non-ASCII character as a \u escape (surrogate pairs
    /// above U+FFFF), indentation and shuffled order must load to the same tokenizer.
    @Test func vocabularyJSONWithEscapesAndOtherLayout() throws {
        let original = try #require(Self.tokenizer)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: TokenizerFixtures.url("clip", "vocab.json")))
        let vocabulary = try #require(object as? [String: Int])
        var text = "{\n"
        for (index, (token, id)) in vocabulary.sorted(by: { $0.value % 7 < $1.value % 7 || ($0.value % 7 == $1.value % 7 && $0.value < $1.value) }).enumerated() {
            text += index == 0 ? "  " : ",\n  "
            text += "\"" + asciiEscaped(token) + "\" :\t\(id)"
        }
        text += "\n}\n"
        #expect(text.utf8.allSatisfy { $0 < 0x80 })
        try TokenizerFixtures.withCLIPFolder(tokenizerConfig: nil, specialTokensMap: nil) { folder in
            try Data(text.utf8).write(to: folder.appendingPathComponent("vocab.json"))
            let tokenizer = try CLIPTokenizer(directory: folder)
            #expect(tokenizer.vocabularySize == 49408)
            for prompt in ["café crème 🍎", "東京タワー", "a \"quoted\" back\\slash/", "Привет"] {
                #expect(tokenizer.encode(prompt) == original.encode(prompt), "\(describe(prompt))")
                #expect(tokenizer.tokenize(prompt) == original.tokenize(prompt), "\(describe(prompt))")
            }
        }
    }

    private func asciiEscaped(_ token: String) -> String {
        var out = ""
        for unit in token.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x2F: out += "\\/"
            case 0x20..<0x7F: out += String(UnicodeScalar(UInt8(unit)))
            default: out += String(format: "\\u%04x", unit)
            }
        }
        return out
    }

    @Test func concurrentEncodingGivesTheSameIDs() async throws {
        let tokenizer = try CLIPTokenizer(directory: TokenizerFixtures.clipDirectory)
        let prompts = (0..<64).map { "prompt number \($0), a \($0 % 2 == 0 ? "red" : "blue") apple on table \($0 * 7)" }
        let expected = prompts.map { tokenizer.encode($0) }
        let fresh = try CLIPTokenizer(directory: TokenizerFixtures.clipDirectory)
        let results = await withTaskGroup(of: (Int, [Int]).self) { group in
            for _ in 0..<4 {
                for (index, prompt) in prompts.enumerated() {
                    group.addTask { (index, fresh.encode(prompt)) }
                }
            }
            var collected: [(Int, [Int])] = []
            for await result in group { collected.append(result) }
            return collected
        }
        #expect(results.count == prompts.count * 4)
        for (index, ids) in results { #expect(ids == expected[index]) }
    }
}
