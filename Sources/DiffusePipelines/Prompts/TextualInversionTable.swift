import DiffuseModels
import DiffuseTensor

/// Textual-inversion embeddings made usable by one CLIP text encoder: each embedding's N vectors
/// get N new token ids after the vocabulary (`vocabularySize …`), whose rows `extraRows` the text
/// model reads in place of its token-embedding table (`CLIPTextModel(_:extraTokenRows:)`). The
/// table is not modified, so dropping the embeddings (another request) restores the encoder.
///
/// A word is found in a prompt as AUTOMATIC1111 finds it (`EmbeddingDatabase`,
/// `find_embedding_at_position`): by the ids the tokenizer gives the word, among a fragment's ids,
/// the longest matching word first.
public struct TextualInversionTable: @unchecked Sendable {
    /// One embedding as found in token ids.
    public struct Entry: Sendable {
        /// The tokenizer's ids for the word.
        public var wordIDs: [Int]
        /// The new ids standing for its vectors.
        public var ids: [Int]
        public var name: String
    }

    /// Entries by the first id of their word, longest word first (A1111's `ids_lookup`).
    private var byFirstID: [Int: [Entry]] = [:]
    /// `[total vectors, width]`: the rows of ids `vocabularySize …`.
    public let extraRows: Tensor?
    public let embeddings: [TextualInversion]

    /// - Parameters:
    ///   - vocabularySize: the text model's `vocab_size`; new ids start there.
    ///   - width: the text model's `hidden_size`.
    /// - Throws: `TextualInversionError` naming the file and key whose width is not `width`, or a
    ///   word the tokenizer gives no ids for.
    public init(_ embeddings: [TextualInversion], tokenizer: CLIPTokenizer, vocabularySize: Int, width: Int) throws {
        self.embeddings = embeddings
        var rows: [Float] = []
        var next = vocabularySize
        for embedding in embeddings {
            guard embedding.width == width else {
                throw TextualInversionError("\(embedding.source): key \(embedding.key) has width \(embedding.width); the text encoder's is \(width)")
            }
            let ids = Array(next ..< next + embedding.count)
            next += embedding.count
            rows += embedding.vectors
            for name in embedding.names {
                let wordIDs = tokenizer.tokenIDs(name)
                guard let first = wordIDs.first else {
                    throw TextualInversionError("\(embedding.source): the word \(String(reflecting: name)) has no tokens")
                }
                // A later file with the same word replaces the earlier one (A1111: register_embedding_by_name).
                var list = (byFirstID[first] ?? []).filter { $0.name != name }
                list.append(Entry(wordIDs: wordIDs, ids: ids, name: name))
                // Stable, as Python's sorted: equal lengths keep their order.
                byFirstID[first] = list.enumerated().sorted { ($0.element.wordIDs.count, $1.offset) > ($1.element.wordIDs.count, $0.offset) }.map(\.element)
            }
        }
        extraRows = rows.isEmpty ? nil : Tensor(shape: [rows.count / width, width], rows)
    }

    public var isEmpty: Bool { embeddings.isEmpty }

    /// The embedding whose word starts at `tokens[offset]`, and the word's length in ids.
    public func match(_ tokens: [Int], at offset: Int) -> (entry: Entry, length: Int)? {
        guard let candidates = byFirstID[tokens[offset]] else { return nil }
        for entry in candidates where offset + entry.wordIDs.count <= tokens.count
            && tokens[offset ..< offset + entry.wordIDs.count].elementsEqual(entry.wordIDs) {
            return (entry, entry.wordIDs.count)
        }
        return nil
    }

    /// `tokens` with every embedding word replaced by its vector ids (how the plain syntax uses
    /// embeddings).
    public func expanding(_ tokens: [Int]) -> [Int] {
        if byFirstID.isEmpty { return tokens }
        var result: [Int] = []
        var i = 0
        while i < tokens.count {
            if let (entry, length) = match(tokens, at: i) {
                result += entry.ids
                i += length
            } else {
                result.append(tokens[i])
                i += 1
            }
        }
        return result
    }
}
