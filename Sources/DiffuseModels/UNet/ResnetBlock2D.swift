import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// diffusers' `ResnetBlock2D` (time_embedding_norm "default"):
/// `(shortcut(x) + conv2(SiLU(norm2(conv1(SiLU(norm1(x))) + proj(SiLU(temb)))))) / outputScaleFactor`.
public final class ResnetBlock2D: Module {
    public let norm1: GroupNorm
    public let conv1: Conv2d
    public let timeEmbProj: Linear?
    public let norm2: GroupNorm
    public let conv2: Conv2d
    public let convShortcut: Conv2d?
    public let outputScaleFactor: Float

    /// - Parameters: `temb`: channels of the time embedding, nil for the VAE's blocks without one.
    public init(inChannels: Int, outChannels: Int, temb: Int?, groups: Int, epsilon: Float, outputScaleFactor: Float = 1) {
        norm1 = GroupNorm(groups: groups, channels: inChannels, epsilon: epsilon)
        conv1 = Conv2d(inChannels, outChannels, kernel: 3, padding: 1)
        timeEmbProj = temb.map { Linear($0, outChannels) }
        norm2 = GroupNorm(groups: groups, channels: outChannels, epsilon: epsilon)
        conv2 = Conv2d(outChannels, outChannels, kernel: 3, padding: 1)
        convShortcut = inChannels == outChannels ? nil : Conv2d(inChannels, outChannels, kernel: 1)
        self.outputScaleFactor = outputScaleFactor
    }

    /// `x`: `[N, Cin, H, W]`; `temb`: `[N, temb]` (already computed by the model, before SiLU).
    /// On `Tensor`s (inference) or `Variable`s (training).
    public func callAsFunction<T: TensorValue>(_ x: T, temb: T?) -> T {
        var h = conv1(norm1(x, silu: true))
        if let proj = timeEmbProj, let temb {
            let t = proj(temb.silu())
            h = h + t.reshaped(t.shape[0], t.shape[1], 1, 1)
        }
        h = conv2(norm2(h, silu: true))
        let shortcut = convShortcut.map { $0(x) } ?? x
        let sum = shortcut + h
        return outputScaleFactor == 1 ? sum : sum / outputScaleFactor
    }
}
