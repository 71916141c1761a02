/// Why a LoRA file cannot be used with a model: one line naming the file and, when one is at
/// fault, the tensor key.
public struct LoRAError: Error, CustomStringConvertible, Sendable {
    /// The file's path.
    public var file: String
    /// The tensor key at fault, or nil when the whole file is.
    public var key: String?
    /// What is wrong.
    public var message: String

    public init(file: String, key: String? = nil, _ message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String { "\(file): " + (key.map { "\($0): " } ?? "") + message }
}
