import DiffuseFormats
import Foundation

/// The settings of a CLIP tokenizer folder that are not the vocabulary: the special tokens and
/// the sequence length, from `tokenizer_config.json` and `special_tokens_map.json` (both
/// optional). As in transformers, an entry of `special_tokens_map.json` replaces the same entry of
/// `tokenizer_config.json`, and a token listed in `added_tokens_decoder` takes its flags from there.
struct CLIPTokenizerConfiguration {
    /// The named special tokens, in transformers' order (`SPECIAL_TOKENS_ATTRIBUTES`).
    static let specialTokenKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    /// `model_max_length`; 77 when absent or left at transformers' "unset" sentinel (1e30).
    var maxLength = 77
    /// The named special tokens present, keyed by `specialTokenKeys` entries. CLIP's defaults fill
    /// in `bos_token`, `eos_token`, `unk_token` and `pad_token` when no file names them.
    var named: [String: TokenizerAddedToken] = [
        "bos_token": TokenizerAddedToken(plain: "<|startoftext|>"),
        "eos_token": TokenizerAddedToken(plain: "<|endoftext|>"),
        "unk_token": TokenizerAddedToken(plain: "<|endoftext|>"),
        "pad_token": TokenizerAddedToken(plain: "<|endoftext|>"),
    ]
    /// `added_tokens_decoder` of `tokenizer_config.json`: id → token.
    var addedTokensDecoder: [(id: Int, token: TokenizerAddedToken)] = []

    /// Reads the configuration files of `directory`; either may be absent.
    init(directory: URL) throws {
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let mapURL = directory.appendingPathComponent("special_tokens_map.json")
        if TokenizerFileReader.fileExists(configURL) {
            let config = try TokenizerFileReader.jsonObject(configURL)
            try readMaxLength(config, url: configURL)
            try readNamedTokens(config, inSpecialTokensMap: false, url: configURL)
            if let decoder = config["added_tokens_decoder"], decoder != .null {
                guard let entries = decoder.objectValue else {
                    throw TokenizerError.malformedFile(configURL, reason: "\"added_tokens_decoder\" is not an object")
                }
                for (key, value) in entries {
                    guard let id = Int(key), id >= 0 else {
                        throw TokenizerError.malformedFile(
                            configURL, reason: "\"added_tokens_decoder\" key \(String(reflecting: key)) is not an id")
                    }
                    if let token = try TokenizerAddedToken(json: value, inSpecialTokensMap: false,
                                                           key: "added_tokens_decoder/\(key)", url: configURL) {
                        addedTokensDecoder.append((id, token))
                    }
                }
                addedTokensDecoder.sort { $0.id < $1.id }
            }
        }
        if TokenizerFileReader.fileExists(mapURL) {
            try readNamedTokens(try TokenizerFileReader.jsonObject(mapURL), inSpecialTokensMap: true, url: mapURL)
        }
        // Named tokens that added_tokens_decoder lists take its version.
        for (key, token) in named {
            if let entry = addedTokensDecoder.first(where: { $0.token.content == token.content }) {
                named[key] = entry.token
            }
        }
    }

    private mutating func readMaxLength(_ config: [String: JSONValue], url: URL) throws {
        guard let raw = config["model_max_length"], raw != .null else { return }
        if let number = raw.doubleValue, number >= 1e15 { return }  // transformers' "no limit" sentinel
        guard let value = raw.intValue, value >= 2, value <= 1_000_000 else {
            throw TokenizerError.malformedFile(url, reason: "\"model_max_length\" is not an integer from 2 to 1000000")
        }
        maxLength = value
    }

    private mutating func readNamedTokens(_ object: [String: JSONValue], inSpecialTokensMap: Bool, url: URL) throws {
        for key in Self.specialTokenKeys {
            guard let value = object[key] else { continue }
            named[key] = try TokenizerAddedToken(json: value, inSpecialTokensMap: inSpecialTokensMap, key: key, url: url)
        }
    }

    /// Every special token to look for in the text, with whether the `tokenizers` library matches
    /// it after normalization. transformers 5 hands the named tokens (in order, an exact repeat of
    /// an earlier one dropped) after the `added_tokens_decoder` entries to `add_tokens`, where the
    /// last token of a given content sets its flags.
    var textSpecialTokens: [(content: String, normalized: Bool)] {
        var ordered: [TokenizerAddedToken] = addedTokensDecoder.map(\.token)
        var namedSeen: [TokenizerAddedToken] = []
        for key in Self.specialTokenKeys {
            guard let token = named[key] else { continue }
            if addedTokensDecoder.contains(where: { $0.token.content == token.content }) { continue }
            if namedSeen.contains(token) { continue }
            namedSeen.append(token)
            ordered.append(token)
        }
        var result: [(content: String, normalized: Bool)] = []
        for token in ordered {
            if let index = result.firstIndex(where: { $0.content == token.content }) {
                result[index].normalized = token.normalized
            } else {
                result.append((token.content, token.normalized))
            }
        }
        return result
    }
}
