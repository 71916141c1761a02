import DiffuseTensor

/// A parameter's value still in its checkpoint file: `Module.load` keeps this in place of a
/// float32 copy when the weights come from memory-mapped files (`WeightSource.isMemoryMapped`),
/// and the parameter reads the file at its first use, keeping the float32 result from then on
/// (`Parameter.value`). Loading a model is then reading headers and checking shapes; each layer
/// pays its conversion (float16 → float32, say) at its first call, as PyTorch's memory-mapped
/// loading pays its page faults there.
///
/// Reading cannot fail once `Module.load` has checked the tensor's name and shape: the file's
/// header was validated when it was opened and the mapping covers every tensor. A file changed
/// or truncated on disk after that stops the process with a message naming the file and tensor.
public final class DeferredWeight: ParameterStorage, @unchecked Sendable {
    public let shape: [Int]
    /// The file and tensor, for the message if reading fails.
    let origin: String
    private let read: () throws -> Tensor

    /// `read` gives the value (`shape`, float32); `origin` names where it comes from.
    public init(shape: [Int], origin: String, read: @escaping () throws -> Tensor) {
        self.shape = shape
        self.origin = origin
        self.read = read
    }

    public func floats() -> Tensor {
        do {
            let value = try read()
            precondition(value.shape == shape, "\(origin) is \(value.shape), expected \(shape)")
            return value
        } catch {
            fatalError("cannot read \(origin) (changed on disk since it was loaded?): \(error)")
        }
    }
}
