/// Generation parameters in AUTOMATIC1111's "infotext" format, the text stored under the PNG
/// text keyword `"parameters"`:
///
/// ```
/// a photo of a cat, highly detailed
/// Negative prompt: blurry, lowres
/// Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: sd15
/// ```
///
/// Line 1 (possibly several lines) is the prompt; the `Negative prompt:` line is present only when
/// the negative prompt is non-empty; the last line is `key: value` pairs joined by `", "`. A value
/// is written inside JSON double quotes (`"..."` with `\"`, `\\`, `\n` escapes, non-ASCII kept)
/// when it contains a comma, colon or newline, as A1111's `quote()` does. This type also quotes
/// values that start with `"` or have leading/trailing whitespace, so that they survive parsing.
///
/// `render()` then `parse(_:)` gives back an equal value when: the lines of the prompt and
/// negative prompt have no leading or trailing whitespace, no prompt line starts with
/// `Negative prompt:`, at least three parameters are set (A1111 only treats the last line as
/// parameters when it holds three or more), and extra keys look like A1111 keys (a word character
/// followed by word characters, spaces, `-` or `/`, no `:` or `,`) and are not one of the named
/// keys. Parsing A1111 text with other key orders (e.g. `Model hash` before `Model`) yields the
/// same fields, with unknown keys in `extra` in their original order.
public struct Infotext: Equatable, Sendable {
    /// The positive prompt (may span several lines).
    public var prompt: String
    /// The negative prompt; empty means none.
    public var negativePrompt: String
    /// Sampling steps (`Steps`).
    public var steps: Int?
    /// Sampler name as A1111 writes it, e.g. `"Euler a"`, `"DPM++ 2M Karras"` (`Sampler`).
    public var sampler: String?
    /// Classifier-free guidance scale (`CFG scale`), e.g. 7.5.
    public var cfgScale: Double?
    /// The random seed (`Seed`).
    public var seed: Int?
    /// Image width in pixels (from `Size: WxH`; `Size` is written only when both are set).
    public var width: Int?
    /// Image height in pixels (from `Size: WxH`).
    public var height: Int?
    /// Checkpoint name (`Model`).
    public var model: String?
    /// Other parameters, in order, written after the named ones (e.g. `("Model hash", "cc6cb27103")`).
    public var extra: [(key: String, value: String)]

    public init(prompt: String, negativePrompt: String = "", steps: Int? = nil, sampler: String? = nil,
                cfgScale: Double? = nil, seed: Int? = nil, width: Int? = nil, height: Int? = nil,
                model: String? = nil, extra: [(key: String, value: String)] = []) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.steps = steps
        self.sampler = sampler
        self.cfgScale = cfgScale
        self.seed = seed
        self.width = width
        self.height = height
        self.model = model
        self.extra = extra
    }

    public static func == (lhs: Infotext, rhs: Infotext) -> Bool {
        lhs.prompt == rhs.prompt && lhs.negativePrompt == rhs.negativePrompt && lhs.steps == rhs.steps
            && lhs.sampler == rhs.sampler && lhs.cfgScale == rhs.cfgScale && lhs.seed == rhs.seed
            && lhs.width == rhs.width && lhs.height == rhs.height && lhs.model == rhs.model
            && lhs.extra.map(\.key) == rhs.extra.map(\.key) && lhs.extra.map(\.value) == rhs.extra.map(\.value)
    }

    /// The parameters in output order: Steps, Sampler, CFG scale, Seed, Size, Model, then `extra`.
    public var parameters: [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        if let steps { result.append(("Steps", String(steps))) }
        if let sampler { result.append(("Sampler", sampler)) }
        if let cfgScale { result.append(("CFG scale", Infotext.formatNumber(cfgScale))) }
        if let seed { result.append(("Seed", String(seed))) }
        if let width, let height { result.append(("Size", "\(width)x\(height)")) }
        if let model { result.append(("Model", model)) }
        return result + extra
    }

    /// The infotext string, laid out as AUTOMATIC1111 writes it (see the type's documentation).
    public func render() -> String {
        let parameterLine = parameters.map { "\($0.key): \(Infotext.quote($0.value))" }.joined(separator: ", ")
        let negative = negativePrompt.isEmpty ? "" : "\nNegative prompt: \(negativePrompt)"
        return Infotext.strip("\(prompt)\(negative)\n\(parameterLine)")
    }

    /// Parses infotext the way A1111's `parse_generation_parameters` does: the last line holds the
    /// parameters if it has at least three `key: value` pairs (otherwise it is part of the
    /// prompt); lines before a `Negative prompt:` line form the prompt, that line and the rest the
    /// negative prompt; each line is trimmed. Known keys fill the typed fields (a value that does
    /// not parse as the field's type goes to `extra`); `Size: WxH` fills width and height.
    /// - Returns: nil for empty (or whitespace-only) text.
    public static func parse(_ text: String) -> Infotext? {
        let stripped = strip(text)
        guard !stripped.isEmpty else { return nil }
        var lines = stripped.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var pairs = parseParameterLine(lines[lines.count - 1])
        if pairs.count >= 3 {
            lines.removeLast()
        } else {
            pairs = []
        }
        var prompt = "", negative = "", inNegative = false
        for rawLine in lines {
            var line = strip(rawLine)
            if line.hasPrefix("Negative prompt:") {
                inNegative = true
                line = strip(String(line.dropFirst("Negative prompt:".count)))
            }
            if inNegative {
                negative += (negative.isEmpty ? "" : "\n") + line
            } else {
                prompt += (prompt.isEmpty ? "" : "\n") + line
            }
        }
        var info = Infotext(prompt: prompt, negativePrompt: negative)
        for (key, value) in pairs {
            switch key {
            case "Steps" where info.steps == nil && Int(value) != nil: info.steps = Int(value)
            case "Sampler" where info.sampler == nil: info.sampler = value
            case "CFG scale" where info.cfgScale == nil && Double(value) != nil: info.cfgScale = Double(value)
            case "Seed" where info.seed == nil && Int(value) != nil: info.seed = Int(value)
            case "Model" where info.model == nil: info.model = value
            case "Size" where info.width == nil && info.height == nil && parseSize(value) != nil:
                let size = parseSize(value)
                info.width = size?.0
                info.height = size?.1
            default: info.extra.append((key, value))
            }
        }
        return info
    }

    // MARK: - Helpers

    /// Python's `str(float)`: `7.0`, `7.5`, `0.25`, `1e-05` (Swift's shortest round-trip
    /// description uses the same digits and the same switch to exponent notation).
    static func formatNumber(_ value: Double) -> String { "\(value)" }

    /// A1111's `quote()`: JSON-quote values containing `,`, `:` or a newline (plus the cases that
    /// would not survive parsing, see the type documentation).
    static func quote(_ value: String) -> String {
        let needsQuotes = value.contains(",") || value.contains(":") || value.contains("\n") || value.contains("\r")
            || value.hasPrefix("\"") || value.first?.isWhitespace == true || value.last?.isWhitespace == true
        return needsQuotes ? JSONValue.quoted(value) : value
    }

    /// Python's `str.strip()` over whitespace characters.
    static func strip(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }

    private static func parseSize(_ value: String) -> (Int, Int)? {
        let parts = value.split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w >= 0, h >= 0,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && !$0.hasPrefix("+") }) else { return nil }
        return (w, h)
    }

    /// Splits a parameter line into `key: value` pairs, following A1111's regular expression
    /// `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)` applied with `findall`: text that
    /// does not form a pair is skipped, quoted values are JSON-unquoted.
    static func parseParameterLine(_ line: String) -> [(key: String, value: String)] {
        let chars = Array(line.unicodeScalars)
        var result: [(key: String, value: String)] = []
        var start = 0
        while start < chars.count {
            if let (pair, next) = matchPair(chars, at: start) {
                result.append(pair)
                start = max(next, start + 1)
            } else {
                start += 1
            }
        }
        return result
    }

    private static func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
    }

    /// Tries to match one pair at `start`; returns it and the index after the match.
    private static func matchPair(_ c: [Unicode.Scalar], at start: Int) -> ((key: String, value: String), Int)? {
        var i = start
        while i < c.count, c[i].properties.isWhitespace { i += 1 }
        guard i < c.count, isWordScalar(c[i]) else { return nil }
        let keyStart = i
        i += 1
        while i < c.count, isWordScalar(c[i]) || c[i] == " " || c[i] == "-" || c[i] == "/" { i += 1 }
        // The regex backtracks the key to the last ':' reachable; keys cannot contain ':', so the
        // key ends right here and must be followed by ':'.
        guard i - keyStart >= 2, i < c.count, c[i] == ":" else { return nil }
        let key = String(String.UnicodeScalarView(c[keyStart..<i]))
        i += 1
        while i < c.count, c[i].properties.isWhitespace { i += 1 }
        // Quoted alternative: "(?:\\.|[^\\"])+" followed by ',' or end of line.
        if i < c.count, c[i] == "\"" {
            var j = i + 1
            while j < c.count, c[j] != "\"" {
                if c[j] == "\\" { j += 1 }
                j += 1
            }
            if j < c.count, j > i + 1, j + 1 == c.count || c[j + 1] == "," {
                let quoted = String(String.UnicodeScalarView(c[i...j]))
                if case .string(let value)? = try? JSONValue.parse(quoted) {
                    return ((key, value), j + 2)
                }
                return ((key, quoted), j + 2)  // A1111 keeps text json.loads rejects as is
            }
        }
        var j = i
        while j < c.count, c[j] != "," { j += 1 }
        let value = String(String.UnicodeScalarView(c[i..<j]))
        return ((key, value), j + 1)
    }
}
