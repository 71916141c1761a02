import DiffuseModels
import Foundation

extension DiffusionPipeline {
    /// The LoRAs that A1111's `<lora:NAME:MULTIPLIER>` tags (and `<lyco:…>`, which A1111's LoRA
    /// handler reads the same way) ask for, read from `directory` for this model. Tags of other
    /// kinds (`<hypernet:…>` …) are not LoRAs and are skipped, as A1111 skips kinds it has no
    /// handler for.
    ///
    /// A tag's text-encoder and UNet multipliers (`<lora:NAME:TE:UNET>`, `te=`, `unet=`) must be
    /// equal: a merged LoRA has one multiplier.
    /// - Throws: `PipelineError` naming `prompt` when a tag names no file in `directory` (or there
    ///   is no directory), its multiplier is not a finite number, or the file does not fit the model.
    public func loraApplications(forPromptTags tags: [PromptAdapterTag], in directory: LoRADirectory?) throws -> [LoRAApplication] {
        try tags.filter(\.isLoRA).map { tag in
            func fail(_ message: String) -> PipelineError { PipelineError("\(tag): \(message)", parameter: .prompt) }
            let multiplier: Double, unetMultiplier: Double
            do {
                (multiplier, unetMultiplier) = (try tag.multiplier(), try tag.unetMultiplier())
            } catch let error as PromptSyntaxError {
                throw fail(error.description)
            }
            guard multiplier.isFinite else { throw fail("the multiplier \(multiplier) is not a finite number") }
            guard multiplier == unetMultiplier else {
                throw fail("different text-encoder (\(multiplier)) and UNet (\(unetMultiplier)) multipliers are not supported")
            }
            guard let directory else { throw fail("there is no LoRA folder to find \"\(tag.name)\" in") }
            do {
                return LoRAApplication(try loadLoRA(directory.file(named: tag.name)), multiplier: Float(multiplier))
            } catch let error as PipelineError {
                throw fail(error.description)
            } catch let error as LoRAError {
                throw fail(error.description)
            }
        }
    }
}
