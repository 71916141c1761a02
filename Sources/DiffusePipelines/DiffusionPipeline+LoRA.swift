import DiffuseFormats
import DiffuseModels
import DiffuseNN
import Foundation

extension DiffusionPipeline {
    /// The layers LoRA files can change: the UNet's (with its LDM names for a
    /// `UNet2DConditionModel`) and the CLIP text encoder's (SDXL's two).
    public var loraTargets: LoRATargets {
        loraGate.targets {
            let sdxl = textEncoder as? SDXLPromptEncoder
            return LoRATargets(unet: unet, layersPerBlock: (unet as? UNet2DConditionModel)?.config.layersPerBlock[0],
                               textEncoder: (textEncoder as? CLIPPromptEncoder)?.model ?? sdxl?.first?.model,
                               textEncoder2: sdxl?.textEncoder2)
        }
    }

    /// Reads the LoRA file at `url` for this pipeline.
    /// - Throws: `LoRAError` naming the file and the key at fault.
    public func loadLoRA(_ url: URL) throws -> LoRA {
        try LoRA(contentsOf: url, targets: loraTargets)
    }

    /// Merges `applications` into the weights for good (`diffuse serve --lora`: the served model is
    /// the model with them). Call before generating: nothing may be running.
    /// - Throws: `PipelineError` for a LoRA read for another pipeline, `LoRAError` when a file cannot be read.
    public func mergePermanently(_ applications: [LoRAApplication]) throws {
        try checkLoRAOwnership(applications)
        _ = try MergedLoRAs(applications)
    }

    /// Runs text-to-image, image-to-image or inpainting (`generateWithMergedWeights`) with
    /// `request.loras` merged into the weights for its duration. Calls from several threads are
    /// serialised around the weights (`LoRAGate`): calls wanting the same LoRAs run together, a
    /// call wanting others waits for them to finish, and no call sees another's LoRAs.
    ///
    /// - Throws: `PipelineError` (parameter `.loras` for a LoRA read for another pipeline or an
    ///   invalid multiplier), `LoRAError`, or what generation throws.
    public func generate(_ request: GenerationRequest, progress: ((GenerationProgress) -> Bool)? = nil) throws -> [PNGImage] {
        try checkLoRAOwnership(request.loras)
        for application in request.loras where !application.multiplier.isFinite {
            throw PipelineError("LoRA \(application.lora.name): multiplier \(application.multiplier) is not a finite number", parameter: .loras)
        }
        return try loraGate.run(request.loras) { try generateWithMergedWeights(request, progress: progress) }
    }

    /// The LoRAs merged for the generations running now.
    public var mergedLoRAs: [LoRAApplication] { loraGate.mergedNow }

    func checkLoRAOwnership(_ applications: [LoRAApplication]) throws {
        let targets = loraTargets
        for application in applications where application.lora.targets !== targets {
            throw PipelineError("LoRA \(application.lora.url.path) was read for another model; read it with this pipeline's loadLoRA",
                                parameter: .loras)
        }
    }
}
