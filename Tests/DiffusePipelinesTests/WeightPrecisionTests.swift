import DiffuseNN
import DiffusePipelines
import DiffuseSchedulers
import DiffuseTensor
import Foundation
import Testing

@Suite struct WeightPrecisionTests {
    /// A parameter kept as float16 reads back as its values rounded to float16, in float32; a
    /// new value (or a training leaf) stores float32 again.
    @Test func parameterRoundTrip() {
        let values: [Float] = [0, 1, -2.5, 1.0 / 3.0, 65504, 1e-8, 0.1]
        let parameter = Parameter(Tensor(shape: [7], values))
        parameter.storeAsFloat16()
        #expect(parameter.isFloat16 && parameter.shape == [7])
        let read = parameter.value
        let expected: [Float] = values.map { Float(Float16($0)) }
        for i in 0 ..< 7 { #expect(read.pointer[i] == expected[i], "element \(i): \(read.pointer[i]) vs \(expected[i])") }
        parameter.value = Tensor(shape: [7], values)
        #expect(!parameter.isFloat16 && parameter.value.pointer[3] == values[3])
    }

    /// The fixture pipeline loaded with float16 weights keeps every parameter as float16 and
    /// draws nearly the image of the float32 load (its files are float32, so weights round).
    @Test func float16PipelineDrawsNearlyTheSameImage() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sd/sd1")
        let full = try StableDiffusion.load(folder: folder), half = try StableDiffusion.load(folder: folder, weights: .float16)
        let unet = try #require(half.unet as? Module)
        #expect(unet.namedParameters().allSatisfy { $0.parameter.isFloat16 })
        var request = GenerationRequest(prompt: "a red apple")
        request.steps = 4
        request.seed = 3
        let a = try full.generate(request)[0], b = try half.generate(request)[0]
        var worst = 0
        for (x, y) in zip(a.pixels, b.pixels) { worst = Swift.max(worst, Swift.abs(Int(x) - Int(y))) }
        print("[float16 weights] max channel difference \(worst)/255")
        #expect(worst <= 4)
    }
}
