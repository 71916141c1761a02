/// Sentences a caption can be wrapped in during training ("red apple" → "a red apple",
/// "the red apple", "red apple emoji", "a picture of a red apple"), so that a model trained on bare
/// names also follows prompts written the way people type them — with an article, or asking for
/// "an emoji of …". The list is fixed: a run's `training.json` records only the probability, and
/// resuming or reproducing it must draw the same sentences.
public enum CaptionTemplates {
    /// `{}` stands for the caption; `{a}` for "a" or "an", whichever the caption's first word takes.
    public static let all = ["{a} {}", "the {}", "{} emoji", "an emoji of {a} {}", "a picture of {a} {}"]

    /// `caption` in template `index` of `all`; the empty caption (classifier-free guidance's
    /// unconditional prompt) stays empty.
    public static func apply(_ index: Int, to caption: String) -> String {
        guard !caption.isEmpty else { return caption }
        return all[index].replacingOccurrences(of: "{a}", with: article(for: caption))
            .replacingOccurrences(of: "{}", with: caption)
    }

    /// Every sentence `apply` can make of `caption` (the caption itself not included).
    public static func sentences(for caption: String) -> [String] {
        caption.isEmpty ? [] : all.indices.map { apply($0, to: caption) }
    }

    /// "an" before a written vowel ("an apple", "an umbrella"), "a" otherwise ("a cat", "a flag: Japan").
    /// Spelling, not sound: "a unicorn" comes out as "an unicorn" — a small price for a fixed rule.
    static func article(for caption: String) -> String {
        guard let first = caption.lowercased().first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }
}
