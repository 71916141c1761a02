import ArgumentParser
import DiffusePipelines
import Foundation

/// Textual-inversion embeddings for the prompts, shared by `generate` and `serve`.
struct EmbeddingOptions: ParsableArguments {
    @Option(name: .customLong("embedding"),
            help: ArgumentHelp("A textual-inversion embedding (.safetensors: AUTOMATIC1111/kohya emb_params or string_to_param, or diffusers' learned_embeds); its file name without the extension is the word to use in prompts (a diffusers file's token works too). Repeatable.",
                               valueName: "file"))
    var embeddings: [String] = []

    @Option(help: ArgumentHelp("Every .safetensors embedding in this folder, as --embedding.", valueName: "dir"))
    var embeddingDir: String?

    /// Loads the embeddings into `pipeline`'s CLIP text encoder (nothing when none are given).
    /// - Throws: `CLIError` naming the option and file (a pickle file, the wrong width …).
    func apply(to pipeline: DiffusionPipeline) throws {
        guard !embeddings.isEmpty || embeddingDir != nil else { return }
        let option = embeddings.isEmpty ? "--embedding-dir" : "--embedding"
        guard let encoder = pipeline.textEncoder as? CLIPPromptEncoder else {
            throw CLIError("\(option): \(pipeline.name) has no CLIP text encoder to take textual-inversion embeddings")
        }
        do {
            var loaded: [TextualInversion] = []
            if let embeddingDir {
                do { loaded += try TextualInversion.loadDirectory(URL(fileURLWithPath: embeddingDir)) } catch let error as TextualInversionError {
                    throw CLIError("--embedding-dir: \(error.description)")
                }
            }
            loaded += try embeddings.map { try TextualInversion.load(URL(fileURLWithPath: $0)) }
            try encoder.useEmbeddings(loaded)
        } catch let error as TextualInversionError {
            throw CLIError("\(option): \(error.description)")
        }
    }
}
