import DiffuseNN
import DiffuseTensor

/// diffusers' `AutoencoderTinyBlock` (TAESD's `Block`): three 3×3 convolutions with the activation
/// between them, plus a skip path (identity, or a 1×1 convolution without bias when the widths
/// differ), then ReLU: `relu(conv(x) + skip(x))`, shape-preserving in H and W.
/// Checkpoint keys: `conv.0`, `conv.2`, `conv.4` (the activations sit at 1 and 3), `skip`.
public final class AutoencoderTinyBlock: TinyLayer {
    public let conv0: Conv2d
    public let conv2: Conv2d
    public let conv4: Conv2d
    public let skip: Conv2d?
    public let activation: TinyActivation.Kind

    public static var keyOverrides: [String: String] { ["conv0": "conv.0", "conv2": "conv.2", "conv4": "conv.4"] }

    public init(inChannels: Int, outChannels: Int, activation: TinyActivation.Kind) {
        conv0 = Conv2d(inChannels, outChannels, kernel: 3, padding: 1)
        conv2 = Conv2d(outChannels, outChannels, kernel: 3, padding: 1)
        conv4 = Conv2d(outChannels, outChannels, kernel: 3, padding: 1)
        skip = inChannels == outChannels ? nil : Conv2d(inChannels, outChannels, kernel: 1, bias: false)
        self.activation = activation
    }

    /// `[N, in, H, W]` → `[N, out, H, W]`.
    public func forward(_ x: Tensor) -> Tensor {
        let h = conv4(activate(conv2(activate(conv0(x)))))
        return TinyReLUInPlace.addReLU(h, skip.map { $0(x) } ?? x)
    }

    /// The activation of a convolution's output (ReLU written into it).
    private func activate(_ x: Tensor) -> Tensor {
        activation == .relu ? TinyReLUInPlace.relu(x) : TinyActivation(activation).forward(x)
    }
}
