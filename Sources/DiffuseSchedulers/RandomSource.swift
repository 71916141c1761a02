import DiffuseTensor

/// A stream of random numbers that latents and scheduler noise are drawn from.
///
/// Every draw advances the stream, so the order and shapes of calls matter: a pipeline that wants
/// diffusers' images for a seed must ask for exactly the tensors diffusers asks its
/// `torch.Generator` for (`randn_tensor(shape, generator)`), in the same order.
/// `TorchRandomSource` reproduces PyTorch's CPU generator.
public protocol RandomSource {
    /// A tensor of `shape` filled with standard normal samples (mean 0, standard deviation 1),
    /// in row-major order — the analogue of `torch.randn(shape, generator=g)` (float32).
    mutating func randn(_ shape: [Int]) -> Tensor

    /// A tensor of `shape` filled with uniform samples in `[0, 1)` — the analogue of
    /// `torch.rand(shape, generator=g)` (float32).
    mutating func rand(_ shape: [Int]) -> Tensor
}
