import ArgumentParser
import DiffuseModels
import DiffuseFormats
import Foundation

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the CLIP token ids of a prompt as one JSON array (77 ids, padded).",
        discussion: """
        --model is a diffusers folder (its tokenizer/ is used) or a tokenizer folder itself \
        (vocab.json + merges.txt). The ids are what transformers' CLIPTokenizer gives with \
        padding="max_length", truncation=True.
        """
    )

    @Option(help: "A diffusers folder or a CLIP tokenizer folder.")
    var model: String

    @Argument(help: "The text to tokenize.")
    var text: String

    func run() throws {
        var folder = URL(fileURLWithPath: model)
        let nested = folder.appendingPathComponent("tokenizer")
        if FileManager.default.fileExists(atPath: nested.appendingPathComponent("vocab.json").path) { folder = nested }
        let tokenizer = try CLIPTokenizer(directory: folder)
        print("[" + tokenizer.encode(text).map(String.init).joined(separator: ",") + "]")
    }
}
