import DiffuseModels
import Foundation
import Testing

/// Loading failures: each must throw a `TokenizerError` that names the file at fault.
@Suite struct TokenizerLoadingErrorTests {
    /// A copy of clip/ in a temporary folder, altered by `prepare`, then loaded.
    private func loadAlteredCLIP(_ prepare: (URL) throws -> Void) throws -> Result<CLIPTokenizer, TokenizerError> {
        try withTemporaryDirectory { folder in
            for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"] {
                try FileManager.default.copyItem(at: TokenizerFixtures.clipDirectory.appendingPathComponent(name),
                                                 to: folder.appendingPathComponent(name))
            }
            try prepare(folder)
            do {
                return .success(try CLIPTokenizer(directory: folder))
            } catch let error as TokenizerError {
                return .failure(error)
            }
        }
    }

    private func write(_ text: String, _ name: String, in folder: URL) throws {
        try Data(text.utf8).write(to: folder.appendingPathComponent(name))
    }

    private func expectFailure(_ result: Result<CLIPTokenizer, TokenizerError>, file name: String, missing: Bool = false,
                               mentioning words: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .failure(let error) = result else {
            Issue.record("loaded without error", sourceLocation: sourceLocation)
            return
        }
        #expect(error.file.lastPathComponent == name, "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains(name), "\(error)", sourceLocation: sourceLocation)
        if case .missingFile = error {
            #expect(missing, "\(error)", sourceLocation: sourceLocation)
        } else {
            #expect(!missing, "\(error)", sourceLocation: sourceLocation)
        }
        for word in words {
            #expect(error.description.contains(word), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func missingVocabulary() throws {
        let result = try loadAlteredCLIP { try FileManager.default.removeItem(at: $0.appendingPathComponent("vocab.json")) }
        expectFailure(result, file: "vocab.json", missing: true)
    }

    @Test func missingMerges() throws {
        let result = try loadAlteredCLIP { try FileManager.default.removeItem(at: $0.appendingPathComponent("merges.txt")) }
        expectFailure(result, file: "merges.txt", missing: true)
    }

    @Test func missingDirectory() throws {
        #expect(throws: TokenizerError.missingFile(URL(fileURLWithPath: "/nonexistent/tokenizer/vocab.json"))) {
            try CLIPTokenizer(directory: URL(fileURLWithPath: "/nonexistent/tokenizer"))
        }
    }

    @Test func vocabularyThatIsADirectory() throws {
        let result = try loadAlteredCLIP { folder in
            try FileManager.default.removeItem(at: folder.appendingPathComponent("vocab.json"))
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("vocab.json"), withIntermediateDirectories: false)
        }
        expectFailure(result, file: "vocab.json", missing: true)
    }

    @Test(arguments: [
        ("{\"a\": 1, \"b\": 2", "unterminated"),
        ("[\"a\", \"b\"]", "object"),
        ("{\"a\": \"1\"}", "integer"),
        ("{\"a\": 1.5}", "integer"),
        ("{\"a\": -1}", "integer"),
        ("{\"a\" 1}", "':'"),
        ("{\"a\": 1,}", "string"),
        ("{\"a\": 1} x", "after"),
        ("{\"\\ud800\": 1}", "surrogate"),
        ("{\"\\q\": 1}", "escape"),
        ("", "'{'"),
        ("{}", "empty"),
    ])
    func malformedVocabularyJSON(_ text: String, _ word: String) throws {
        let result = try loadAlteredCLIP { try write(text, "vocab.json", in: $0) }
        expectFailure(result, file: "vocab.json", mentioning: [word])
    }

    @Test func vocabularyThatIsNotUTF8() throws {
        let result = try loadAlteredCLIP {
            try Data([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]).write(to: $0.appendingPathComponent("vocab.json"))
        }
        expectFailure(result, file: "vocab.json", mentioning: ["UTF-8"])
    }

    @Test func vocabularyWithoutByteSymbols() throws {
        let result = try loadAlteredCLIP { try write("{\"<|startoftext|>\": 0, \"<|endoftext|>\": 1, \"a\": 2, \"a</w>\": 3}", "vocab.json", in: $0) }
        expectFailure(result, file: "vocab.json", mentioning: ["byte"])
    }

    @Test func mergeLineWithThreeSymbols() throws {
        let result = try loadAlteredCLIP { try write("#version: 0.2\ni n\nt h e\n", "merges.txt", in: $0) }
        expectFailure(result, file: "merges.txt", mentioning: ["line 3"])
    }

    @Test func mergeOfUnknownSymbols() throws {
        let result = try loadAlteredCLIP { try write("#version: 0.2\ni n\nzzzq xxxq\n", "merges.txt", in: $0) }
        expectFailure(result, file: "merges.txt", mentioning: ["merge 2"])
    }

    @Test func malformedTokenizerConfig() throws {
        let result = try loadAlteredCLIP { try write("{\"model_max_length\": ", "tokenizer_config.json", in: $0) }
        expectFailure(result, file: "tokenizer_config.json", mentioning: ["JSON"])
    }

    @Test func tokenizerConfigWithBadMaxLength() throws {
        let result = try loadAlteredCLIP { try write("{\"model_max_length\": \"77\"}", "tokenizer_config.json", in: $0) }
        expectFailure(result, file: "tokenizer_config.json", mentioning: ["model_max_length"])
    }

    @Test func specialTokensMapWithBadToken() throws {
        let result = try loadAlteredCLIP { try write("{\"pad_token\": 5}", "special_tokens_map.json", in: $0) }
        expectFailure(result, file: "special_tokens_map.json", mentioning: ["pad_token"])
    }

    @Test func specialTokenOutsideTheVocabulary() throws {
        let result = try loadAlteredCLIP { try write("{\"pad_token\": \"<pad>\"}", "special_tokens_map.json", in: $0) }
        expectFailure(result, file: "vocab.json", mentioning: ["<pad>"])
    }

    @Test func configurationFilesAreOptional() throws {
        let result = try loadAlteredCLIP { folder in
            try FileManager.default.removeItem(at: folder.appendingPathComponent("tokenizer_config.json"))
            try FileManager.default.removeItem(at: folder.appendingPathComponent("special_tokens_map.json"))
        }
        let tokenizer = try result.get()
        #expect(tokenizer.maxLength == 77)
        #expect(tokenizer.padTokenID == 49407)
    }

    @Test func wordPieceMissingVocabulary() throws {
        let url = URL(fileURLWithPath: "/nonexistent/vocab.txt")
        #expect(throws: TokenizerError.missingFile(url)) { try WordPieceTokenizer(vocabulary: url) }
    }

    @Test func wordPieceVocabularyWithoutSpecialTokens() throws {
        try withTemporaryDirectory { folder in
            let url = folder.appendingPathComponent("vocab.txt")
            try Data("[PAD]\n[UNK]\nhello\n".utf8).write(to: url)
            do {
                _ = try WordPieceTokenizer(vocabulary: url)
                Issue.record("loaded without [CLS]")
            } catch let error as TokenizerError {
                #expect(error.file == url)
                #expect(error.description.contains("[CLS]"))
            }
        }
    }

    @Test func wordPieceMaxLengthTooSmall() throws {
        #expect(throws: TokenizerError.self) {
            try WordPieceTokenizer(vocabulary: TokenizerFixtures.miniLMVocabulary, maxLength: 1)
        }
    }
}
