import DiffuseSchedulers
import DiffuseTensor

/// How the denoising loop keeps the unmasked part of an inpainting request, as diffusers'
/// `StableDiffusionInpaintPipeline` does for the two kinds of checkpoint.
public enum Inpainting {
    /// Inpainting UNets (9 input channels): the mask and the masked image's latents are input
    /// channels 5 and 6–9 of every call. `mask` `[B, 1, h, w]` (1 = repaint), `maskedImageLatents`
    /// `[B, 4, h, w]`, both at latent size.
    case extraChannels(mask: Tensor, maskedImageLatents: Tensor)
    /// Ordinary UNets: after each step the unmasked area is put back on the init image's noisy
    /// trajectory (`imageLatents` noised with `noise` to the next timestep; clean after the last).
    case blend(imageLatents: Tensor, mask: Tensor, noise: Tensor)

    /// The UNet input with the extra channels appended (`[B', 9, h, w]` for a `[B', 4, h, w]`
    /// input; `guidance` batches them as it batches the latents); unchanged for `.blend`.
    func modelInput(_ input: Tensor, guidance: GuidanceStrategy) -> Tensor {
        guard case .extraChannels(let mask, let maskedImageLatents) = self else { return input }
        return Tensor.concatenate([input, guidance.batched(mask), guidance.batched(maskedImageLatents)], axis: 1)
    }

    /// The latents after a step with the kept area restored (`.blend`); unchanged for `.extraChannels`.
    /// `nextTimestep` is nil after the last step.
    func restoringKeptArea(_ latents: Tensor, nextTimestep: Float?, scheduler: any Scheduler) -> Tensor {
        guard case .blend(let imageLatents, let mask, let noise) = self else { return latents }
        let kept = nextTimestep.map { scheduler.addNoise(original: imageLatents, noise: noise, timestep: $0) } ?? imageLatents
        return kept * mask.affine(scale: -1, shift: 1) + latents * mask
    }
}
