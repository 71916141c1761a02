/// Why a generation request or a model cannot be used; one line, naming the value at fault.
public struct PipelineError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
