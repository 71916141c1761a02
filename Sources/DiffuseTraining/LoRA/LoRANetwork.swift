import DiffuseFormats
import DiffuseNN
import Foundation

/// What `diffuse train --lora-rank` trains (kohya's `LoRANetwork`): adapters on the UNet's chosen
/// linear layers and, when asked (`--lora-text-encoder`), on the CLIP text encoder's.
///
/// As a `Module` its parameters are the factors, `unet.adapters.N.down` / `.up` and
/// `text_encoder.adapters.N.down` / `.up` (what checkpoints and the optimizer see). The trained
/// file is kohya's layout (`write(to:)`: `lora_unet_…` and `lora_te_…`), which `--lora`,
/// diffusers' `load_lora_weights` and AUTOMATIC1111 read.
public final class LoRANetwork: Module {
    public let unet: LoRAAdapters
    public let textEncoder: LoRAAdapters?

    /// The file name diffusers' `train_text_to_image_lora.py` writes and `load_lora_weights(folder)` reads.
    public static let fileName = "pytorch_lora_weights.safetensors"

    /// Creates the adapters (not yet installed), `LoRAAdapters`' initialization for each model,
    /// the text encoder's (when `textEncoder` is given) from another stream of `seed` than the UNet's.
    /// - Throws: `TrainingError` naming `loraRank`, `loraAlpha` or `loraTargets`.
    public init(unet: Module, textEncoder: Module?, rank: Int, alpha: Float, targets: LoRATrainingTargets, seed: UInt64) throws {
        self.unet = try LoRAAdapters(model: unet, component: .unet, rank: rank, alpha: alpha, targets: targets, seed: seed ^ 0x10A4_AD47)
        self.textEncoder = try textEncoder.map {
            try LoRAAdapters(model: $0, component: .textEncoder, rank: rank, alpha: alpha, targets: targets, seed: seed ^ 0x7E_10A4_AD47)
        }
    }

    public var rank: Int { unet.rank }
    public var alpha: Float { unet.alpha }
    /// The UNet's adapters, then the text encoder's.
    public var parts: [LoRAAdapters] { [unet] + (textEncoder.map { [$0] } ?? []) }

    /// Puts each adapter on its layer.
    public func install() { for part in parts { part.install() } }

    /// Takes the adapters off their layers (the models are the base models again).
    public func remove() { for part in parts { part.remove() } }

    /// The factors of every part as kohya writes them (`LoRAAdapters.kohyaEntries`), UNet first.
    public func kohyaEntries() -> [SafeTensorsWriter.Entry] { parts.flatMap { $0.kohyaEntries() } }

    /// Writes the kohya file to `url` atomically (a temporary name in the same folder, renamed
    /// into place), with kohya's notes in the header (`ss_network_module`, `ss_network_dim`,
    /// `ss_network_alpha`).
    /// - Throws: `SafeTensorsError` naming the file.
    public func write(to url: URL, metadata extra: [String: String] = [:]) throws {
        let metadata = ["ss_network_module": "networks.lora", "ss_network_dim": "\(rank)", "ss_network_alpha": "\(alpha)"]
            .merging(extra) { $1 }
        try SafeTensorsWriter.write(kohyaEntries(), metadata: metadata, to: url)
    }
}
