extension CLIPTokenizer {
    /// The two ways transformers prepares text for CLIP's BPE. They agree on ordinary prompts and
    /// differ on CJK ideographs, control and format characters, some whitespace, the final sigma
    /// and special tokens written in other cases.
    public enum TextNormalization: Sendable, CaseIterable {
        /// transformers' slow Python `CLIPTokenizer` without the ftfy package (transformers 4.x; what
        /// diffusers used with it, since diffusers does not install ftfy): `BasicTokenizer` clean-up
        /// (control characters dropped, each CJK ideograph a word of its own, NFC, Python
        /// `str.lower()`), the split expression compiled with `re.IGNORECASE`, and the words
        /// "<|startoftext|>"/"<|endoftext|>" taken as their special tokens in any case.
        case basicTokenizer
        /// transformers 5's `CLIPTokenizer`, which is built on the `tokenizers` library (as is
        /// `CLIPTokenizerFast` in 4.x): NFC, whitespace runs to one space, per-character lowercase;
        /// control characters and CJK runs stay as they are. Special tokens are matched in the raw
        /// text, or in the lowercased text when the configuration marks them `normalized`.
        case tokenizersLibrary
    }
}
