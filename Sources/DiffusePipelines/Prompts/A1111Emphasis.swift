import DiffuseTensor

/// AUTOMATIC1111's "Original" emphasis (`sd_emphasis.py`, `EmphasisOriginal`, the default): the
/// text encoder's states of one 77-token chunk multiplied token by token by the prompt's
/// multipliers, then scaled so that the mean over all the chunk's values is what it was before.
public enum A1111Emphasis {
    /// `states` `[1, n, width]` (one chunk) and its n `multipliers` → `[1, n, width]`.
    public static func original(_ states: Tensor, multipliers: [Double]) -> Tensor {
        precondition(states.rank == 3 && states.shape[0] == 1 && states.shape[1] == multipliers.count,
                     "A1111Emphasis: states \(states.shape) for \(multipliers.count) multipliers")
        let originalMean = accurateMean(states)
        let weighted = states * Tensor(shape: [1, multipliers.count, 1], multipliers.map { Float($0) })
        return weighted * (originalMean / accurateMean(weighted))
    }

    /// The mean of every value of `x`, summed in double precision and rounded to float. A chunk's
    /// mean is small next to its values (0.0003 against 0.9 on average for the test encoders), so
    /// a float sum's rounding would show in the ratio of two of them; torch's pairwise float sum is
    /// about as exact as this.
    static func accurateMean(_ x: Tensor) -> Float {
        let c = x.contiguous()
        var sum = 0.0
        for i in 0 ..< c.count { sum += Double(c.pointer[i]) }
        return Float(sum / Double(c.count))
    }
}
