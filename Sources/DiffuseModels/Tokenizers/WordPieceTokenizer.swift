import Foundation

/// BERT's WordPiece tokenizer, for sentence-transformers models such as all-MiniLM-L6-v2, loaded
/// from a `vocab.txt` (one token a line, the line number being the id).
///
/// `encode` gives transformers' `BertTokenizer(text, truncation=True, max_length=maxLength).input_ids`
/// (the `tokenizers`-library implementation that sentence-transformers uses): the special tokens
/// `[PAD]` `[UNK]` `[CLS]` `[SEP]` `[MASK]` written in the text are kept whole; the rest is
/// normalized (`BertTextNormalizer`), split into words (`BertPreTokenizer`) and each word into
/// the longest vocabulary pieces from its start, continuations prefixed with "##"; a word longer
/// than 100 characters or that cannot be pieced together becomes `[UNK]`.
public final class WordPieceTokenizer: Sendable {
    /// Whether text is lowercased and stripped of accents (uncased models).
    public let lowercase: Bool
    /// The most ids `encode` returns, `[CLS]` and `[SEP]` included.
    public let maxLength: Int
    /// The id of `[CLS]`, which starts every encoding.
    public let classifierTokenID: Int
    /// The id of `[SEP]`, which ends every encoding.
    public let separatorTokenID: Int
    /// The id of `[UNK]`.
    public let unknownTokenID: Int
    /// The id of `[PAD]`, for callers that batch encodings, if the vocabulary has it.
    public let padTokenID: Int?
    /// The number of tokens of the vocabulary.
    public let vocabularySize: Int

    private let vocabulary: [TokenizerByteKey: Int]
    private let tokenStrings: [Int: String]
    private let specialTokens: TokenizerSpecialTokenSplitter

    /// The longest word, in Unicode scalars, that is split into pieces; longer ones are `[UNK]`.
    static let maxInputCharactersPerWord = 100

    /// Loads `vocabulary` (a `vocab.txt`).
    ///
    /// - Parameters:
    ///   - lowercase: lowercase and strip accents (true for uncased models such as all-MiniLM-L6-v2).
    ///   - maxLength: the longest encoding, `[CLS]` and `[SEP]` included (256 is all-MiniLM-L6-v2's
    ///     `max_seq_length`); at least 2.
    /// - Throws: `TokenizerError` naming `vocabulary` if it is missing, unreadable or lacks `[CLS]`,
    ///   `[SEP]` or `[UNK]`.
    public init(vocabulary url: URL, lowercase: Bool = true, maxLength: Int = 256) throws {
        let bytes = try TokenizerFileReader.utf8Bytes(url)
        var vocabulary: [TokenizerByteKey: Int] = [:]
        vocabulary.reserveCapacity(bytes.count / 6)
        var tokenStrings: [Int: String] = [:]
        var lineStart = 0
        var index = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            var contentEnd = lineEnd
            if contentEnd > lineStart, bytes[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
            let token = Array(bytes[lineStart..<contentEnd])
            vocabulary[TokenizerByteKey(token)] = index  // a repeated token keeps its last line, as in transformers
            tokenStrings[index] = String(decoding: token, as: UTF8.self)
            index += 1
            lineStart = lineEnd + 1
        }
        func required(_ token: String) throws -> Int {
            guard let id = vocabulary[TokenizerByteKey(token)] else {
                throw TokenizerError.malformedFile(url, reason: "the vocabulary has no \(token) token")
            }
            return id
        }
        guard maxLength >= 2 else {
            throw TokenizerError.malformedFile(url, reason: "maxLength \(maxLength) leaves no room for [CLS] and [SEP]")
        }
        self.lowercase = lowercase
        self.maxLength = maxLength
        self.classifierTokenID = try required("[CLS]")
        self.separatorTokenID = try required("[SEP]")
        self.unknownTokenID = try required("[UNK]")
        self.padTokenID = vocabulary[TokenizerByteKey("[PAD]")]
        self.vocabularySize = vocabulary.count
        self.vocabulary = vocabulary
        self.tokenStrings = tokenStrings
        var specials: [String: Int] = [:]
        for token in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] {
            if let id = vocabulary[TokenizerByteKey(token)] { specials[token] = id }
        }
        self.specialTokens = TokenizerSpecialTokenSplitter(tokens: specials)
    }

    /// `[CLS]`, the ids of `text`'s tokens (cut to `maxLength - 2`), `[SEP]`; no padding.
    public func encode(_ text: String) -> [Int] {
        var ids = [classifierTokenID]
        ids.append(contentsOf: tokenIDs(text).prefix(maxLength - 2))
        ids.append(separatorTokenID)
        return ids
    }

    /// The WordPiece tokens of `text` ("un", "##aff", "##able"), without `[CLS]`/`[SEP]` and
    /// without truncation: transformers' `tokenizer.tokenize(text)`.
    public func tokenize(_ text: String) -> [String] {
        tokenIDs(text).map { tokenStrings[$0] ?? "" }
    }

    /// The ids of `text`'s tokens, without `[CLS]`/`[SEP]` and without truncation.
    public func tokenIDs(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        for segment in specialTokens.split(scalars) {
            switch segment {
            case .special(let id):
                ids.append(id)
            case .text(let range):
                let normalized = BertTextNormalizer.normalize(scalars[range], lowercase: lowercase)
                for word in BertPreTokenizer.words(in: normalized) {
                    appendPieces(of: normalized[word], to: &ids)
                }
            }
        }
        return ids
    }

    /// Greedy longest-match-first: from the start of what is left of the word, the longest
    /// vocabulary entry ("##"-prefixed after the first piece); `[UNK]` for the whole word when no
    /// entry fits somewhere.
    private func appendPieces(of word: ArraySlice<Unicode.Scalar>, to ids: inout [Int]) {
        guard word.count <= Self.maxInputCharactersPerWord else {
            ids.append(unknownTokenID)
            return
        }
        // The word's UTF-8 bytes and where each scalar starts in them.
        var utf8: [UInt8] = []
        var offsets: [Int] = []
        for scalar in word {
            offsets.append(utf8.count)
            TokenizerUnicode.appendUTF8(scalar, to: &utf8)
        }
        offsets.append(utf8.count)
        var pieces: [Int] = []
        var candidate: [UInt8] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int? = nil
            while start < end {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate.append(contentsOf: [UInt8(ascii: "#"), UInt8(ascii: "#")]) }
                candidate.append(contentsOf: utf8[offsets[start]..<offsets[end]])
                if let id = vocabulary[TokenizerByteKey(candidate)] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.append(unknownTokenID)
                return
            }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }
}
