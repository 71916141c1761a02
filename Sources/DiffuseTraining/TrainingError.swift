/// A training problem, naming the file, option or tensor at fault.
public struct TrainingError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
