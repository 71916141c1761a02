import DiffuseFormats
import DiffuseModels
import DiffusePipelines
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// Runs one job on the calling (worker) thread: each image from its own seed, progress and
/// throttled latent previews reported to the job, PNGs tagged with A1111 infotext.
public struct JobRunner: Sendable {
    /// The shared model (its `generate` is safe to call from several threads).
    public let model: DiffusionPipeline
    /// Seconds between two previews of the same image (the first and last step always get one).
    public var previewInterval: Double = 0.2

    /// A runner for `model`.
    public init(model: DiffusionPipeline) {
        self.model = model
    }

    /// Runs `job` to its end (success, failure, cancellation or interruption).
    public func run(_ job: GenerationJob) {
        guard job.markRunning() else { return }
        let parameters = job.parameters
        let seeds = parameters.seeds
        // The training caption drawn instead of the prompt (models with a caption index), matched once per job.
        let matchedCaption = model.matchedCaption(for: parameters.prompt)?.caption
        let start = Date()
        var images: [GeneratedImage] = []
        for (index, seed) in seeds.enumerated() {
            var lastLatents: Tensor?
            var lastPreview = Date.distantPast
            do {
                var request = parameters.request(seed: seed)
                request.prompt = matchedCaption ?? request.prompt
                request.matchCaption = false
                request.cancellation = job.cancellation
                let output = try model.generate(request) { step in
                    lastLatents = step.latents
                    let now = Date()
                    var preview: Data?
                    if let latents = step.latents,
                       step.step == 1 || step.step == step.totalSteps || now.timeIntervalSince(lastPreview) >= previewInterval {
                        preview = try? PNGEncoder.encode(model.preview(latents), compressionLevel: 1)
                        lastPreview = now
                    }
                    return job.report(JobProgress(image: index, images: seeds.count, step: step.step, totalSteps: step.totalSteps,
                                                  elapsed: now.timeIntervalSince(start), preview: preview))
                }
                guard let image = output.first else {
                    throw PipelineError("the pipeline returned no image")
                }
                images.append(try tagged(image, job: job, seed: seed, matchedCaption: matchedCaption))
            } catch is CancellationError {
                guard job.requestedStop == .interrupt else {
                    job.finish(.cancelled)
                    return
                }
                // Interrupted: keep what exists, with the current image decoded as far as it got.
                if let lastLatents, let partial = try? ImageTensors.images(from: model.decode(lastLatents)).first,
                   let image = try? tagged(partial, job: job, seed: seed, matchedCaption: matchedCaption) {
                    images.append(image)
                }
                job.finish(.succeeded(GenerationResult(images: images, interrupted: true, seconds: Date().timeIntervalSince(start))))
                return
            } catch let error as PipelineError {
                job.finish(.failed(APIError(error, names: parameters.fieldNames)))
                return
            } catch let error as LoRAError {
                job.finish(.failed(APIError(.badRequest, error.description, field: parameters.fieldNames.loras, code: "generation_rejected")))
                return
            } catch let error as SchedulerError {
                job.finish(.failed(APIError(.badRequest, error.description, field: parameters.fieldNames.sampler, code: "generation_rejected")))
                return
            } catch {
                job.finish(.failed(APIError(.internalServerError, "generation failed: \(error)", code: "generation_failed")))
                return
            }
        }
        job.finish(.succeeded(GenerationResult(images: images, interrupted: false, seconds: Date().timeIntervalSince(start))))
    }

    /// The image as a PNG carrying the `parameters` infotext chunk.
    private func tagged(_ image: PNGImage, job: GenerationJob, seed: UInt64, matchedCaption: String?) throws -> GeneratedImage {
        let info = job.parameters.infotext(seed: seed, samplerName: job.samplerName, model: model.name,
                                           matchedCaption: matchedCaption).render()
        var image = image
        image.text = [PNGTextEntry(keyword: "parameters", text: info)]
        return GeneratedImage(png: try PNGEncoder.encode(image), seed: seed, infotext: info)
    }
}
