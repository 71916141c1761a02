/// Why a generation request or a model cannot be used; one line, naming the value at fault.
///
/// Messages speak of the library's own names (`steps`, `initImage`); `parameter` says which
/// `GenerationRequest` property is at fault, so that a front end can name it its own way (the CLI
/// as `--steps`, the server as its JSON field).
public struct PipelineError: Error, CustomStringConvertible {
    public var description: String
    /// The request property at fault, or nil when the model or a file is.
    public var parameter: GenerationRequest.Parameter?

    public init(_ description: String, parameter: GenerationRequest.Parameter? = nil) {
        self.description = description
        self.parameter = parameter
    }
}

extension GenerationRequest {
    /// The properties of a request, by their Swift names (`PipelineError.parameter`).
    public enum Parameter: String, Sendable, CaseIterable {
        case prompt, negativePrompt, sampler, steps, guidance, eta, seed, width, height, count, initImage, strength, mask, loras
        case originalSize, crop, targetSize, aestheticScore, negativeAestheticScore, refiner, refinerStart

        /// The name in kebab case (`initImage` → `init-image`), as command-line flags spell it.
        public var kebabCase: String {
            rawValue.reduce(into: "") { name, c in
                if c.isUppercase { name += "-" + c.lowercased() } else { name.append(c) }
            }
        }
    }
}
