/// A training problem, naming the file, setting or tensor at fault.
///
/// Messages about settings speak of `TrainingConfiguration`'s property names (`batchSize`);
/// `parameter` names that property so that a front end can name it its own way (the CLI as
/// `--batch-size`).
public struct TrainingError: Error, CustomStringConvertible {
    public var description: String
    /// The `TrainingConfiguration` property at fault, or nil when a file or the model is.
    public var parameter: String?

    public init(_ description: String, parameter: String? = nil) {
        self.description = description
        self.parameter = parameter
    }
}
