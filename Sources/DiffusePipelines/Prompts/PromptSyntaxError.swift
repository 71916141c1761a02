/// A prompt the encoder cannot read, naming what is wrong in it (the caller knows which field
/// the text came from).
public struct PromptSyntaxError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
