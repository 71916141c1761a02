import ArgumentParser

/// `train`'s switches for the bundled model's conditioning experiments (sentence-embedding
/// conditioning, keyword and template captions), kept in their own help section.
struct ResearchOptions: ParsableArguments {
    @Flag(help: "With --text-encoder and a UNet with a projection class embedding: condition only through the pooled sentence embedding (the UNet attends to the empty prompt's token states).")
    var pooledOnly = false

    @Flag(help: "With --text-encoder: the UNet also attends to the pooled sentence embedding, as one more token after the prompt's token states.")
    var pooledToken = false

    @Option(help: "Probability of training a caption with the empty prompt's token states in place of its own, keeping its pooled embedding (with --pooled-token or a projection class embedding), so the model learns to draw from the sentence embedding alone.")
    var tokenDropout = 0.0

    @Option(help: "Probability of training an image on one of its metadata keywords instead of its caption.")
    var keywordCaptions = 0.0

    @Option(help: "Probability of wrapping the caption in a template sentence (\"a red apple\", \"red apple emoji\").")
    var captionTemplates = 0.0
}
