import DiffuseTensor

/// What an operation keeps of an input for its backward pass: the input's value, or — for a
/// constant made with `Variable(_:rereading:)` — the way to read that value again, so the tape
/// holds no copy of it between the forward and the backward pass.
struct SavedValue {
    private let tensor: Tensor?
    private let reread: (() -> Tensor)?

    /// Keeps `keep(variable.value)` (by default the value itself), or only the way to re-read it.
    init(_ variable: Variable, keeping keep: (Tensor) -> Tensor = { $0 }) {
        if let reread = variable.reread {
            tensor = nil
            self.reread = reread
        } else {
            tensor = keep(variable.value)
            reread = nil
        }
    }

    /// The value (read again when it was not kept).
    var value: Tensor { tensor ?? reread!() }
}
