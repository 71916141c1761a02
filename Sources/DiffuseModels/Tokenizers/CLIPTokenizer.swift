import Foundation

/// The text tokenizer of CLIP text encoders (Stable Diffusion 1.x/2.x, SDXL): byte-level BPE with an
/// end-of-word suffix, loaded from a transformers tokenizer folder such as a diffusers checkpoint's
/// `tokenizer/`:
///
/// - `vocab.json` — token → id (required),
/// - `merges.txt` — the BPE merges, highest priority first (required),
/// - `tokenizer_config.json`, `special_tokens_map.json` — special tokens and `model_max_length`
///   (optional; CLIP's defaults otherwise).
///
/// `encode` gives what diffusers feeds the text encoder,
/// `tokenizer(text, padding="max_length", max_length=77, truncation=True).input_ids`, for the
/// transformers behaviour chosen by `TextNormalization`.
///
/// The default, `.basicTokenizer`, is transformers 4.x's slow tokenizer; `.tokenizersLibrary` is
/// what transformers 5 gives. Both agree on ordinary prompts (see `TextNormalization`).
///
/// Loading takes about 50 ms; encoding a 77-token prompt, well under a millisecond the first time
/// and some tens of microseconds once its words are in the word cache. Instances are immutable
/// apart from that cache and may be shared between threads.
public final class CLIPTokenizer: Sendable {
    /// Which transformers implementation's text handling to reproduce.
    public let normalization: TextNormalization
    /// The length of `encode`'s output (`model_max_length`, 77 for every Stable Diffusion model).
    public let maxLength: Int
    /// The id of the start token (`<|startoftext|>`, 49406 in CLIP's vocabulary).
    public let startTokenID: Int
    /// The id of the end token (`<|endoftext|>`, 49407).
    public let endTokenID: Int
    /// The id `encode` pads with: `<|endoftext|>` (49407) for SD 1.x, `!` (0) for SD 2.x and
    /// SDXL's second tokenizer.
    public let padTokenID: Int
    /// The number of entries of `vocab.json`.
    public let vocabularySize: Int

    private let encoder: BytePairEncoder
    private let tokenStrings: [Int: String]
    /// Literal special tokens cut out of the raw text before anything else.
    private let rawSpecialTokens: TokenizerSpecialTokenSplitter
    /// `.tokenizersLibrary` only: special tokens looked for in the normalized text.
    private let normalizedSpecialTokens: TokenizerSpecialTokenSplitter
    /// `.basicTokenizer` only: ids of the words "<|startoftext|>" and "<|endoftext|>", which the slow
    /// tokenizer's BPE cache maps to themselves.
    private let specialLiteralIDs: [[Unicode.Scalar]: Int]

    /// Loads the tokenizer folder at `directory`.
    ///
    /// - Parameter normalization: the transformers behaviour to reproduce; see `TextNormalization`.
    ///   The default is what transformers 5 (and so current diffusers) gives.
    /// - Throws: `TokenizerError` naming the file that is missing, unreadable or malformed.
    public init(directory: URL, normalization: TextNormalization = .tokenizersLibrary) throws {
        let vocabularyURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        let vocabulary = try TokenizerVocabularyJSONParser.parse(
            try TokenizerFileReader.utf8Bytes(vocabularyURL), url: vocabularyURL)
        guard !vocabulary.isEmpty else {
            throw TokenizerError.malformedFile(vocabularyURL, reason: "the vocabulary is empty")
        }
        let mergeList = try BPEMergesParser.parse(try TokenizerFileReader.utf8Bytes(mergesURL), url: mergesURL)
        let configuration = try CLIPTokenizerConfiguration(directory: directory)

        var decoderIDs: [String: Int] = [:]
        for entry in configuration.addedTokensDecoder { decoderIDs[entry.token.content] = entry.id }
        func id(of content: String) throws -> Int {
            if let id = decoderIDs[content] ?? vocabulary[content] { return id }
            throw TokenizerError.malformedFile(
                vocabularyURL, reason: "the special token \(String(reflecting: content)) named by the tokenizer "
                    + "configuration is not in the vocabulary")
        }
        func namedID(_ key: String) throws -> Int {
            guard let token = configuration.named[key] else {
                throw TokenizerError.malformedFile(
                    directory.appendingPathComponent("tokenizer_config.json"), reason: "\(key) is null")
            }
            return try id(of: token.content)
        }

        self.normalization = normalization
        self.maxLength = configuration.maxLength
        self.startTokenID = try namedID("bos_token")
        self.endTokenID = try namedID("eos_token")
        self.padTokenID = try namedID("pad_token")
        self.vocabularySize = vocabulary.count
        self.encoder = try BytePairEncoder(vocabulary: vocabulary, mergeList: mergeList, endOfWordSuffix: "</w>",
                                           vocabularyURL: vocabularyURL, mergesURL: mergesURL)
        var tokenStrings: [Int: String] = [:]
        tokenStrings.reserveCapacity(vocabulary.count + decoderIDs.count)
        for (token, id) in vocabulary { tokenStrings[id] = token }
        for (token, id) in decoderIDs { tokenStrings[id] = token }
        self.tokenStrings = tokenStrings

        var raw: [String: Int] = [:]
        var normalized: [String: Int] = [:]
        for token in configuration.textSpecialTokens {
            let tokenID = try id(of: token.content)
            if normalization == .tokenizersLibrary && token.normalized {
                normalized[token.content] = tokenID
            } else {
                raw[token.content] = tokenID
            }
        }
        self.rawSpecialTokens = TokenizerSpecialTokenSplitter(tokens: raw)
        self.normalizedSpecialTokens = TokenizerSpecialTokenSplitter(tokens: normalized)
        var literalIDs: [[Unicode.Scalar]: Int] = [:]
        for literal in ["<|startoftext|>", "<|endoftext|>"] {
            if let literalID = decoderIDs[literal] ?? vocabulary[literal] { literalIDs[Array(literal.unicodeScalars)] = literalID }
        }
        self.specialLiteralIDs = literalIDs
    }

    /// The ids the text encoder takes for `text`: the start token, the tokens of `text` (cut to
    /// `maxLength - 2`), the end token, then `padTokenID` up to `maxLength` ids in all.
    public func encode(_ text: String) -> [Int] {
        var ids = [startTokenID]
        ids.reserveCapacity(maxLength)
        let tokens = tokenIDs(text)
        ids.append(contentsOf: tokens.prefix(maxLength - 2))
        ids.append(endTokenID)
        while ids.count < maxLength { ids.append(padTokenID) }
        return ids
    }

    /// The BPE tokens of `text` as vocabulary strings ("a</w>", "photograph</w>", …), without the
    /// start and end tokens and without truncation: transformers' `tokenizer.tokenize(text)`.
    public func tokenize(_ text: String) -> [String] {
        tokenIDs(text).map { tokenStrings[$0] ?? "" }
    }

    /// The ids of `text`'s tokens, without start/end tokens, truncation or padding.
    public func tokenIDs(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(scalars.count / 3 + 4)
        var utf8: [UInt8] = []
        for segment in rawSpecialTokens.split(scalars) {
            switch segment {
            case .special(let id):
                ids.append(id)
            case .text(let range):
                switch normalization {
                case .basicTokenizer:
                    let cleaned = CLIPBasicTokenizerCleaner.clean(scalars[range])
                    appendWords(of: cleaned, ignoringCase: true, into: &ids, buffer: &utf8)
                case .tokenizersLibrary:
                    let normalized = CLIPTokenizersNormalizer.normalize(scalars[range])
                    for part in normalizedSpecialTokens.split(normalized) {
                        switch part {
                        case .special(let id):
                            ids.append(id)
                        case .text(let partRange):
                            appendWords(of: Array(normalized[partRange]), ignoringCase: false, into: &ids, buffer: &utf8)
                        }
                    }
                }
            }
        }
        return ids
    }

    private func appendWords(of text: [Unicode.Scalar], ignoringCase: Bool, into ids: inout [Int], buffer: inout [UInt8]) {
        for word in CLIPPreTokenizer.words(in: text, ignoringCase: ignoringCase) {
            if word.isSpecialLiteral {
                switch normalization {
                case .basicTokenizer:
                    // The slow tokenizer's BPE cache starts with these two words mapped to themselves.
                    if let id = specialLiteralIDs[Array(text[word.range])] {
                        ids.append(id)
                        continue
                    }
                case .tokenizersLibrary:
                    // The ByteLevel pre-tokenizer's GPT-2 expression splits the word again:
                    // "<|", "endoftext", "|>".
                    let range = word.range
                    appendBPE(text[range.lowerBound..<(range.lowerBound + 2)], into: &ids, buffer: &buffer)
                    appendBPE(text[(range.lowerBound + 2)..<(range.upperBound - 2)], into: &ids, buffer: &buffer)
                    appendBPE(text[(range.upperBound - 2)..<range.upperBound], into: &ids, buffer: &buffer)
                    continue
                }
            }
            appendBPE(text[word.range], into: &ids, buffer: &buffer)
        }
    }

    private func appendBPE(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int], buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        for scalar in word { TokenizerUnicode.appendUTF8(scalar, to: &buffer) }
        encoder.encode(word: buffer, into: &ids)
    }
}
