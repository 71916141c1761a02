/// How a prompt's text is read before it is encoded.
public enum PromptSyntax: String, Sendable, CaseIterable {
    /// diffusers' behaviour: the text as written (parentheses are literal), cut to the encoder's
    /// 77 tokens (75 between the start and end tokens).
    case plain
    /// AUTOMATIC1111's: `(text)` ×1.1, `[text]` ÷1.1, `(text:w)`, `\(` escapes, `BREAK`,
    /// `<kind:name:…>` extra-network tags taken out of the text, and any length in chunks of
    /// 75 tokens (`A1111PromptParser`, `A1111PromptChunker`, `CLIPPromptEncoder`).
    case a1111
}
