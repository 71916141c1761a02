/// A prompt's token ids in chunks of 77 (start, 75 tokens, end), each id with its emphasis
/// multiplier, as AUTOMATIC1111 builds them (`sd_hijack_clip.py`,
/// `FrozenCLIPEmbedderWithCustomWordsBase.tokenize_line`).
public struct A1111PromptChunks: Sendable, Equatable {
    /// `[chunks][77]` ids.
    public var ids: [[Int]]
    /// `[chunks][77]` multipliers (1 on start, end and padding).
    public var multipliers: [[Double]]
    /// The prompt's length in tokens as A1111 counts it (75 per full chunk, the last one's length).
    public var tokenCount: Int
}

/// Splits parsed prompt fragments into A1111's 75-token chunks:
/// - each fragment is tokenized on its own (no start/end tokens, no truncation);
/// - a `BREAK` closes the current chunk;
/// - when a chunk is full and the last comma is at most `commaBacktrack` tokens back
///   (`opts.comma_padding_backtrack`, 20), the tokens after that comma move to the next chunk;
/// - a textual-inversion word becomes its N vector ids, never split across chunks;
/// - chunks are padded with the end id to 75, then framed by start and end ids; when the
///   tokenizer pads with another id than its end id (SD 2's OpenCLIP tokenizer: 0), every id
///   after a chunk's first end id becomes that pad id (`process_tokens`).
///
/// One difference from A1111: when a comma back-off moves an embedding's ids to the next chunk,
/// its vectors move with them (A1111 leaves them at the old offset, over padding, and the moved
/// positions read token 0).
public struct A1111PromptChunker {
    public static let chunkLength = 75
    public var startID: Int
    public var endID: Int
    public var padID: Int
    /// The id of "," (`,</w>`), or nil when the vocabulary has none (no back-off then).
    public var commaID: Int?
    public var commaBacktrack = 20
    public var tokenize: (String) -> [Int]
    public var embeddings: TextualInversionTable?

    public init(startID: Int, endID: Int, padID: Int, commaID: Int?, embeddings: TextualInversionTable?,
                tokenize: @escaping (String) -> [Int]) {
        self.startID = startID
        self.endID = endID
        self.padID = padID
        self.commaID = commaID
        self.embeddings = embeddings
        self.tokenize = tokenize
    }

    public func chunks(_ fragments: [PromptFragment]) -> A1111PromptChunks {
        let length = Self.chunkLength
        var result = A1111PromptChunks(ids: [], multipliers: [], tokenCount: 0)
        var tokens: [Int] = [], multipliers: [Double] = []
        var lastComma = -1
        func closeChunk(isLast: Bool = false) {
            result.tokenCount += isLast ? tokens.count : length
            let missing = length - tokens.count
            if missing > 0 {
                tokens += Array(repeating: endID, count: missing)
                multipliers += Array(repeating: 1, count: missing)
            }
            var ids = [startID] + tokens + [endID]
            if endID != padID, let firstEnd = ids.firstIndex(of: endID) {
                for i in (firstEnd + 1) ..< ids.count { ids[i] = padID }
            }
            result.ids.append(ids)
            result.multipliers.append([1] + multipliers + [1])
            lastComma = -1
            tokens = []
            multipliers = []
        }
        for fragment in fragments {
            let fragmentTokens = tokenize(fragment.text)
            if fragment.isBreak {
                closeChunk()
                continue
            }
            var position = 0
            while position < fragmentTokens.count {
                let token = fragmentTokens[position]
                if token == commaID {
                    lastComma = tokens.count
                } else if commaBacktrack != 0 && tokens.count == length && lastComma != -1 && tokens.count - lastComma <= commaBacktrack {
                    let breakLocation = lastComma + 1
                    let movedTokens = Array(tokens[breakLocation...]), movedMultipliers = Array(multipliers[breakLocation...])
                    tokens.removeSubrange(breakLocation...)
                    multipliers.removeSubrange(breakLocation...)
                    closeChunk()
                    tokens = movedTokens
                    multipliers = movedMultipliers
                }
                if tokens.count == length { closeChunk() }
                guard let (entry, wordLength) = embeddings?.match(fragmentTokens, at: position) else {
                    tokens.append(token)
                    multipliers.append(fragment.weight)
                    position += 1
                    continue
                }
                if tokens.count + entry.ids.count > length { closeChunk() }
                tokens += entry.ids
                multipliers += Array(repeating: fragment.weight, count: entry.ids.count)
                position += wordLength
            }
        }
        if !tokens.isEmpty || result.ids.isEmpty { closeChunk(isLast: true) }
        return result
    }
}
