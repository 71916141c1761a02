import ArgumentParser
import DiffuseData
import DiffusePipelines
import Foundation

struct IndexCaptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index-captions",
        abstract: "Give a model the index of its training captions, so prompts in other words find the caption they mean.",
        discussion: """
        Encodes every caption of --data with the model's sentence encoder, and each caption \
        followed by its keywords (metadata.jsonl "keywords": "red apple: apple, fruit, red"), and \
        writes the unit-length embeddings and the captions to MODEL/caption_index.safetensors \
        (float16; 5.8 MB for the 3,695 emoji captions). From then on `diffuse generate`, `serve` and `eval` draw, for a prompt \
        that is not one of the captions, the caption nearest to it in meaning ("a slice of pizza" → \
        "pizza"); --no-caption-matching turns that off per command. Only for models with a sentence \
        encoder (a pooled embedding): a model that draws a closed set of things, as the bundled \
        emoji model does.

        Example (the bundled model; `make train-default` runs it):
          diffuse index-captions --data data/emoji-32 --model models/emoji
        """
    )

    @Option(help: "The captioned images the model was trained on (their captions and keywords are indexed).")
    var data: String

    @OptionGroup(title: "Model (the folder whose caption_index.safetensors is written)") var modelOptions: ModelOptions

    func run() throws {
        try prepareEngine()
        let folder = try modelOptions.location()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("--model \(folder.path) is not a model folder (the caption index is written into one)")
        }
        let pipeline = try modelOptions.load()
        guard let encoder = pipeline.textEncoder, encoder.pooledDimension != nil else {
            throw CLIError("\(folder.path) has no sentence encoder (pooled embeddings) to match prompts with")
        }
        let dataset = try ImageCaptionDataset(directory: URL(fileURLWithPath: data), size: pipeline.defaultImageSize)
        let start = Date()
        let keywords = dataset.entries.map(\.keywords)
        guard let index = CaptionIndex.build(captions: dataset.entries.map(\.caption),
                                             keywords: keywords.contains { !$0.isEmpty } ? keywords : nil,
                                             encoder: encoder) else {
            throw CLIError("\(data) has no captions to index")
        }
        let url = folder.appendingPathComponent(CaptionIndex.fileName)
        try index.write(to: url)
        print(String(format: "%@: %d captions%@, %d-wide embeddings, encoded in %.1f s", url.path, index.captions.count,
                     index.descriptions == nil ? "" : " with their keywords", index.embeddings.shape[1],
                     Date().timeIntervalSince(start)))
    }
}
