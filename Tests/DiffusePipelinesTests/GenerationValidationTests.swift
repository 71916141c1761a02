import DiffuseFormats
import DiffusePipelines
import Foundation
import Testing

/// Requests that used to trap (sizes and counts whose tensors overflow or cannot be allocated),
/// make NaN images (infinite guidance) or fail after the whole generation (a NUL in a prompt)
/// are refused by `StableDiffusion.validate` before any work, naming the request property.
@Suite struct GenerationValidationTests {
    static func model() throws -> StableDiffusion { try PipelineParityTests.model("sd1") }

    /// Expects `generate(request)` to throw a one-line `PipelineError` for `parameter`, at once.
    func expectRefusal(_ request: GenerationRequest, _ parameter: GenerationRequest.Parameter, containing needle: String = "",
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let model = try Self.model()
        let start = Date()
        do {
            _ = try model.generate(request)
            Issue.record("generated from a request with a bad \(parameter)", sourceLocation: sourceLocation)
        } catch let error as PipelineError {
            #expect(error.parameter == parameter && error.description.contains(needle) && !error.description.contains("\n"),
                    "\(error.parameter.map(\.rawValue) ?? "nil"): \(error.description)", sourceLocation: sourceLocation)
        }
        #expect(Date().timeIntervalSince(start) < 5, "refused only after \(Date().timeIntervalSince(start)) s", sourceLocation: sourceLocation)
    }

    func request(_ change: (inout GenerationRequest) -> Void) -> GenerationRequest {
        var r = GenerationRequest(prompt: "a red apple")
        r.steps = 2
        change(&r)
        return r
    }

    @Test func sizesAndCountsBeyondMemoryAreRefused() throws {
        try expectRefusal(request { $0.width = 100_000; $0.height = 100_000 }, .width, containing: "memory")
        try expectRefusal(request { $0.width = 1 << 60; $0.height = 1 << 60 }, .width, containing: "memory")
        try expectRefusal(request { $0.count = 1_000_000_000 }, .count, containing: "memory")
        try expectRefusal(request { $0.height = 1 << 40 }, .height, containing: "memory")
        // An ordinary request passes.
        try Self.model().validate(request { $0.width = 64; $0.height = 64; $0.count = 2 })
    }

    @Test func guidanceMustBeFiniteAndNonNegative() throws {
        for guidance in [Float.nan, .infinity, -.infinity, -5] {
            try expectRefusal(request { $0.guidance = guidance }, .guidance, containing: "guidance")
        }
        try Self.model().validate(request { $0.guidance = 0 })
    }

    @Test func promptsWithNULAreRefusedBeforeGenerating() throws {
        try expectRefusal(request { $0.prompt = "a red\0apple" }, .prompt, containing: "NUL")
        try expectRefusal(request { $0.negativePrompt = "blurry\0" }, .negativePrompt, containing: "NUL")
    }

    @Test func sizesOutsideTheModelsListAreRefused() throws {
        let model = try StableDiffusion.load(folder: PipelineParityTests.root.appendingPathComponent("sd1"))
        model.supportedSizes = [DiffusersFolder.Size(width: 64, height: 64), DiffusersFolder.Size(width: 64, height: 96)]
        try model.validate(request { $0.width = 64; $0.height = 96 })
        for (width, height, parameter) in [(128, 64, GenerationRequest.Parameter.width), (64, 128, .height)] {
            #expect { try model.validate(request { $0.width = width; $0.height = height }) } throws: { error in
                guard let error = error as? PipelineError else { return false }
                return error.parameter == parameter && error.description.contains("64x64, 64x96")
            }
        }
    }
}
