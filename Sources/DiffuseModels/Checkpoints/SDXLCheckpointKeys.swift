import Foundation

/// The key names of original (Stability) single-file SDXL checkpoints, mapped onto diffusers'
/// as diffusers' single-file converters do: the UNet under `model.diffusion_model.` as in SD
/// (`LDMCheckpointKeys`) plus `label_emb.0.0` / `label_emb.0.2` for `add_embedding`'s two linear
/// layers; CLIP ViT-L under `conditioner.embedders.0.transformer.` (transformers' names after
/// it); OpenCLIP ViT-bigG under `conditioner.embedders.1.model.` (`OpenCLIPCheckpointKeys`, every
/// block kept) with `text_projection` `[hidden, projection]`, the transpose of
/// `CLIPTextModelWithProjection`'s `text_projection.weight`; the VAE under `first_stage_model.`.
public enum SDXLCheckpointKeys {
    public static let firstEncoderPrefix = "conditioner.embedders.0.transformer."
    public static let secondEncoderPrefix = "conditioner.embedders.1.model."
    /// The OpenCLIP projection, relative to `secondEncoderPrefix`.
    public static let textProjection = "text_projection"

    /// Whether `names` are an SDXL single file's: an OpenCLIP tower at `conditioner.embedders.1`.
    public static func isSDXL(_ names: [String]) -> Bool {
        names.contains { $0.hasPrefix(secondEncoderPrefix) }
    }

    /// The diffusers UNet key for an LDM SDXL UNet key (without `model.diffusion_model.`).
    public static func unetKey(_ key: String, layersPerBlock: Int) -> String? {
        for (ldm, diffusers) in [("label_emb.0.0.", "add_embedding.linear_1."), ("label_emb.0.2.", "add_embedding.linear_2.")]
            where key.hasPrefix(ldm) {
            return diffusers + key.dropFirst(ldm.count)
        }
        return LDMCheckpointKeys.unetKey(key, layersPerBlock: layersPerBlock)
    }

    /// The `CLIPTextModel` key for a name under `firstEncoderPrefix`, else nil.
    public static func firstEncoderKey(_ name: String) -> String? {
        guard name.hasPrefix(firstEncoderPrefix) else { return nil }
        let key = String(name.dropFirst(firstEncoderPrefix.count))
        return key.hasPrefix("text_model.") ? key : "text_model." + key
    }
}
