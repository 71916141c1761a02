import DiffusePipelines
import DiffuseTensor
import Foundation
import Testing

/// `GenerationRequest.cancellation`: the UNet checks it between its blocks, so a long step stops
/// inside the step, and `generate` ends with `CancellationError`.
@Suite struct CancellationTests {
    static func model() throws -> DiffusionPipeline {
        try DiffusionPipeline.load(folder: PipelineParityTests.root.appendingPathComponent("sd1"))
    }

    @Test func aCancelledUNetStopsBetweenBlocks() throws {
        let unet = try Self.model().unet
        let sample = Tensor(shape: [1, 4, 8, 8], (0 ..< 256).map { Float($0 % 13) / 13 - 0.5 })
        let context = Conditioning(tokens: Tensor(shape: [1, 77, 32], (0 ..< 77 * 32).map { Float($0 % 7) / 7 }), pooled: nil)
        let full = unet.predict(sample, timesteps: [500], conditioning: context)
        #expect(full.scalars.contains { $0 != 0 })
        let flag = CancellationFlag()
        flag.cancel()
        let stopped = Cancellation.$current.withValue(flag) { unet.predict(sample, timesteps: [500], conditioning: context) }
        #expect(stopped.shape == full.shape)
        #expect(stopped.scalars.allSatisfy { $0 == 0 }, "the UNet ran its blocks although cancelled")
    }

    @Test func generateThrowsBeforeTheFirstStepEnds() throws {
        let model = try Self.model()
        var request = GenerationRequest(prompt: "a red cube")
        request.steps = 3
        request.width = 48
        request.height = 32
        request.cancellation = CancellationFlag()
        request.cancellation?.cancel()
        var steps = 0
        #expect(throws: CancellationError.self) {
            _ = try model.generate(request) { _ in steps += 1; return true }
        }
        #expect(steps == 0)
    }
}
