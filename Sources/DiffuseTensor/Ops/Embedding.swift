import Foundation

/// Lookups and positional encodings.
extension Tensor {
    /// Rows of `self` (`[vocabulary, dim]`) for each id: `[ids.count, dim]`.
    public func embedding(_ ids: [Int]) -> Tensor {
        precondition(rank == 2, "embedding: table \(shape) must be [vocabulary, dim]")
        let vocabulary = shape[0], dim = shape[1]
        let table = contiguous()
        let out = Tensor(uninitializedShape: [ids.count, dim])
        for (row, id) in ids.enumerated() {
            precondition(id >= 0 && id < vocabulary, "embedding: id \(id) outside a table of \(vocabulary) rows")
            (out.pointer + row * dim).update(from: table.pointer + id * dim, count: dim)
        }
        return out
    }

    /// Sinusoidal timestep embedding `[timesteps.count, dim]`, as diffusers' `get_timestep_embedding`:
    /// frequencies `exp(−ln(maxPeriod) · i / (dim/2 − downscaleFreqShift))`, `[sin, cos]` halves
    /// (`[cos, sin]` when `flipSinToCos`), zero-padded when `dim` is odd. Computed in float32 as diffusers does.
    public static func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, downscaleFreqShift: Float,
                                         scale: Float = 1, maxPeriod: Float = 10000) -> Tensor {
        let half = dim / 2
        let out = Tensor(shape: [timesteps.count, dim], repeating: 0)
        let logPeriod = Float(Foundation.log(Double(maxPeriod)))
        let frequencies: [Float] = (0 ..< half).map { i in
            let exponent = (-logPeriod * Float(i)) / (Float(half) - downscaleFreqShift)
            return Foundation.exp(exponent)
        }
        for (row, t) in timesteps.enumerated() {
            let r = out.pointer + row * dim
            for i in 0 ..< half {
                let angle = scale * (t * frequencies[i])
                let (s, c) = (Foundation.sin(angle), Foundation.cos(angle))
                if flipSinToCos { r[i] = c; r[half + i] = s } else { r[i] = s; r[half + i] = c }
            }
        }
        return out
    }

    /// diffusers' `get_guidance_scale_embedding` (the LCM pipelines' `timestep_cond`): for each
    /// `w` (the guidance scale minus 1), `[sin(1000·w·f_i), cos(1000·w·f_i)]` with
    /// `f_i = exp(−i · ln(10000) / (dim/2 − 1))`, i < dim/2, zero-padded to `dim` when odd;
    /// `[w.count, dim]`, in torch's float32 order of operations.
    public static func guidanceScaleEmbedding(_ w: [Float], dim: Int) -> Tensor {
        precondition(dim >= 4, "guidanceScaleEmbedding: dim \(dim) < 4")
        let half = dim / 2
        let step = Float(Foundation.log(Float(10000))) / Float(half - 1)
        let frequencies: [Float] = (0 ..< half).map { Foundation.exp(Float($0) * -step) }
        let out = Tensor(shape: [w.count, dim], repeating: 0)
        for (row, scale) in w.enumerated() {
            let r = out.pointer + row * dim
            let t = scale * 1000
            for i in 0 ..< half {
                let angle = t * frequencies[i]
                r[i] = Foundation.sin(angle)
                r[half + i] = Foundation.cos(angle)
            }
        }
        return out
    }
}
